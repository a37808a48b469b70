"""The test suite; tests.media generates the sample files the tests read."""
