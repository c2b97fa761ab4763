//go:build race

package testenv

// RaceSlowdown scales the time bounds of tests: the race detector slows code 2–20×.
const RaceSlowdown = 10
