"""The earthquake silo of the synthetic city: phones, quakes, felt reports, exposure."""

from citywatch.simulate.quake.physics import Phones, Quake
from citywatch.simulate.quake.writer import write_quake

__all__ = ["Phones", "Quake", "write_quake"]
