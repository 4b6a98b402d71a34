"""Tools for the demo, the tests and the benchmarks: conda-layout environments without conda."""
