"""ExampleGen's CSV executor (byte-identical to CsvExampleGen) and the one CSV reading path."""
