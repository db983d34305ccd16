"""How results look to a person: terminal text, tables, graphs and HTML."""
