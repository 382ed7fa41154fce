"""Settings files, whatever they hold: every problem of one file at once, strict field reading,
TOML writing and atomic writes. Used by manifests, answer files and the host's own configuration.

- `problems`   Problem (one field, its value, what is wrong) and FileProblems (all of one file's)
- `fields`     TableReader: reads a TOML table field by field, collecting Problems (never quoting secrets)
- `toml_file`  reads a file's TOML, or says why it cannot be read, without quoting its content
- `names`      the one pattern for names that become path parts, and `inside`, which keeps them in their folder
- `tomlwrite`  writes TOML, by tomli-w (tomllib only reads)
- `atomic`     writes a file (mode 600) so that a power cut leaves the old version or the new one

Nothing here knows what the files are for; it imports nothing else of XenBox.
"""
