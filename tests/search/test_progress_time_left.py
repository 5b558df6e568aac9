"""The sampler's progress lines say how long at most remains to max_steps."""

import io
import logging

from lenspipe.search.progress import Progress


def test_checkpoint_lines_carry_the_time_left(caplog):
    logger = logging.getLogger("lenspipe.search.test")
    progress = Progress(100, stream=io.StringIO(), logger=logger, ess_min=400)
    with caplog.at_level("INFO", logger="lenspipe.search.test"):
        for step in range(1, 11):
            progress.step(step, 1000.0)
        progress.checkpoint(10, {"tau": [2.0, 3.0], "rhat": [1.2, 1.1], "ess_bulk": [None, 20.0],
                                 "ess_tail": [30.0, 40.0]}, 1000.0, converged=False)
        progress.checkpoint(20, {"tau": [2.0, 3.0], "rhat": [1.02, 1.01], "ess_bulk": [512.4, 430.0],
                                 "ess_tail": [401.2, 700.0]}, 1000.0, converged=True)
    first, last = [record.getMessage() for record in caplog.records]
    assert first.startswith("step 10/100: max tau 3, max R-hat 1.2, min ESS -/400, 1e+03 evaluations/s, "
                            "at most ")
    assert first.endswith(" to max_steps")
    assert last == ("step 20/100: max tau 3, max R-hat 1.02, min ESS 401/400, 1e+03 evaluations/s, at most 0s "
                    "to max_steps, converged")
