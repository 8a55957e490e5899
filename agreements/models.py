# Agreements (SPEC §3) arrive with issue 3; the app is installed now so that the layout is final.
