# Declarations and settlements (SPEC §4–5) arrive with issues 4 and 5.
