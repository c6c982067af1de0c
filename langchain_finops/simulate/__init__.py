"""Replay traffic through the package's techniques and report what they save.

`simulate(traffic)` sends every call of a traffic log to a baseline (the
strong model, full history, nothing else) and to the optimised pipeline built
from the package's public parts, and measures both with the cost ledger.
`langchain-finops simulate` and `langchain-finops demo` are this, on the
command line.
"""

from langchain_finops.simulate import report
from langchain_finops.simulate.calibration import CalibrationResult, calibrate_traffic
from langchain_finops.simulate.pipeline import PipelineOptions
from langchain_finops.simulate.replay import SimulationResult, simulate
from langchain_finops.simulate.responder import SimulatedChatModel
from langchain_finops.simulate.traffic import (
    Traffic,
    TrafficProblem,
    TrafficRecord,
    load_sample,
    load_traffic,
)

__all__ = (
    "CalibrationResult",
    "PipelineOptions",
    "SimulatedChatModel",
    "SimulationResult",
    "Traffic",
    "TrafficProblem",
    "TrafficRecord",
    "calibrate_traffic",
    "load_sample",
    "load_traffic",
    "report",
    "simulate",
)
