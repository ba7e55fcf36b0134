"""Engine: from a scenario to every draw's numbers.

``designs`` (uniforms by block: mc, lhs, sobol), ``correlation`` (rank correlation between
inputs), ``inputs`` (uniforms -> each parameter's values), ``interface`` (the typed hand-off to a
model), ``models`` (the built-in programme and industry models), ``financials`` (NPV, IRR,
payback: pure vectorized functions), ``simulate`` (the one orchestrator), ``parallel`` (worker
processes), ``results`` (what a run returns).
"""
