"""Commands that need the Monte Carlo engine: run, compare, sensitivity, calibrate, report."""


def register(sub, epilog):
    """Add the engine commands to the ``capex`` parser."""
    return sub
