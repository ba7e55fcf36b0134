"""Core: the project's types and vocabulary, with no file reading and no heavy library.

``errors`` (located problems, warnings), ``units`` (parsing what users write), ``vocabulary``
(every input and every output: name, unit, label, description, bounds, plausible range,
format), ``formatting`` (the one formatter of numbers), ``provenance`` (sources), ``distributions``
(frozen distributions with a vectorized quantile function), ``scenario`` (the validated
scenario and its parameters), ``fileio`` (atomic writes, hashes).
"""
