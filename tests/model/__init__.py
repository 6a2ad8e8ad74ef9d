"""Issue 8: a reference model of DESIGN §3/§5, a stateful test driving the plugin beside it, seam fuzzing.

Kept under tests/ rather than in the package: the model restates this plugin's own rules to check the
plugin, so an integrator gains nothing from importing it (the conformance suite is their kit), and the
installed package stays free of the hypothesis dependency.
"""
