"""The consultation core: the one graph every consultation runs through, its driver's policy,
and the session facade front ends and benchmarks drive it with."""
