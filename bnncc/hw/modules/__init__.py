"""One file per rtl_lib module, each defining ``SPEC`` (see :mod:`bnncc.hw.registry`)."""
