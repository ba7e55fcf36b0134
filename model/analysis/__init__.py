"""Analysis: what runs mean, beyond their summaries.

``sensitivity`` (tornado, spider, rank correlations, Sobol' indices by input, category and
provenance, break-even values, stress view; design -> evaluate -> analyze -> result, as SALib),
``compare`` (several runs side by side on common random numbers).
"""
