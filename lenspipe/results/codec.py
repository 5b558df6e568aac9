"""The array codec of result files: float64 sample arrays as shuffled, deflated bytes.

:func:`encode` / :func:`decode` are the byte-level codec: HDF5's byte shuffle of
8-byte elements followed by zlib, exactly what HDF5's ``shuffle`` + ``gzip``
filters store for a single-chunk dataset, and what the database keeps in its
``samples`` table. :func:`write_encoded` stores an array as such a chunk with the
CRC-32 of the stored bytes in its ``crc32`` attribute; :func:`read_encoded` copies
those bytes back without decoding them, checking the CRC-32, so the database ingest
detects corruption without decompressing. ``_attr`` and ``_read`` are the low-level
h5py reads shared with :mod:`lenspipe.results.result_file`.
"""

from __future__ import annotations

import zlib

import h5py
import numpy as np

from ..errors import ResultFileError

__all__ = ["MAX_CHUNK_BYTES", "encode", "decode", "write_encoded", "read_encoded"]

#: Largest array stored as a single HDF5 chunk (HDF5's limit is 4 GiB).
MAX_CHUNK_BYTES = 2**32 - 1


def encode(array) -> bytes:
    """Compress a float64 array: HDF5's byte shuffle (8-byte elements), then zlib.

    The bytes are exactly what HDF5's ``shuffle`` + ``gzip`` filters store for
    a single-chunk dataset, and what the database keeps in its ``samples`` table.
    """
    array = np.ascontiguousarray(array, dtype="<f8")
    return zlib.compress(array.view(np.uint8).reshape(-1, 8).T.tobytes(), 1)


def decode(blob: bytes, shape) -> np.ndarray:
    """Inverse of :func:`encode`: a new float64 array of ``shape``."""
    shape = tuple(shape)
    count = int(np.prod(shape, dtype=np.int64))
    raw = np.frombuffer(zlib.decompress(blob, bufsize=8 * count or 1), dtype=np.uint8)
    planes = raw.reshape(8, count)
    out = np.empty((count, 8), dtype=np.uint8)
    for byte in range(8):  # one plane at a time: faster than a strided transpose
        out[:, byte] = planes[byte]
    return out.view("<f8").reshape(shape)


def write_encoded(group, name: str, array: np.ndarray) -> None:
    """Store a contiguous float64 ``array`` as dataset ``name`` of an HDF5 ``group``.

    A non-empty array under :data:`MAX_CHUNK_BYTES` is one shuffle + deflate chunk of its
    :func:`encode` bytes, with their CRC-32 in the attribute ``crc32`` (what
    :func:`read_encoded` copies directly); any other array is stored plainly.
    """
    if array.size == 0 or array.nbytes >= MAX_CHUNK_BYTES:
        group.create_dataset(name, data=array)  # no single chunk: plain storage
        return
    blob = encode(array)
    dataset = group.create_dataset(name, shape=array.shape, dtype="<f8", chunks=array.shape,
                                   shuffle=True, compression="gzip")
    dataset.id.write_direct_chunk((0,) * array.ndim, blob)
    dataset.attrs["crc32"] = np.int64(zlib.crc32(blob))


_SHUFFLE_DEFLATE = [h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_DEFLATE]


def read_encoded(dataset) -> bytes:
    """The :func:`encode` bytes of a float64 HDF5 dataset (``h5py.Dataset`` or its id).

    A single-chunk shuffle + deflate dataset with a ``crc32`` attribute (as
    :func:`write_result` writes) is copied without decoding, after checking its
    CRC-32; any other layout is read and encoded.

    Raises
    ------
    ResultFileError
        If the stored chunk does not match its CRC-32 (a corrupt file).
    """
    dataset_id = dataset.id if isinstance(dataset, h5py.Dataset) else dataset
    plist = dataset_id.get_create_plist()
    shape = dataset_id.shape
    direct = (dataset_id.dtype == np.dtype("<f8") and 0 not in shape
              and plist.get_layout() == h5py.h5d.CHUNKED and plist.get_chunk() == shape
              and [plist.get_filter(i)[0] for i in range(plist.get_nfilters())] == _SHUFFLE_DEFLATE
              and h5py.h5a.exists(dataset_id, b"crc32"))
    if direct:
        mask, blob = dataset_id.read_direct_chunk((0,) * len(shape))
        if mask == 0:
            if zlib.crc32(blob) != int(_attr(dataset_id, "crc32")):
                name = h5py.h5i.get_name(dataset_id).decode()
                filename = h5py.h5f.get_name(dataset_id).decode()
                raise ResultFileError(f"{filename}: {name} fails its CRC-32 check (corrupt file).")
            return bytes(blob)
    return encode(_read(dataset_id))


def _attr(object_id, name: str):
    """An attribute through h5py's low-level API (several times faster); strings decoded."""
    attribute = h5py.h5a.open(object_id, name.encode())
    value = np.empty(attribute.shape, dtype=attribute.dtype)
    attribute.read(value)
    value = value[()]
    return value.decode() if isinstance(value, bytes) else value


def _read(dataset_id) -> np.ndarray:
    value = np.empty(dataset_id.shape, dtype=dataset_id.dtype)
    if value.size:
        dataset_id.read(h5py.h5s.ALL, h5py.h5s.ALL, value)
    return value
