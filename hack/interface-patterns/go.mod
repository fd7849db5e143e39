// Prints Go's regexp results for herald's interface-pattern table test.
module herald.local/interface-patterns

go 1.26.0
