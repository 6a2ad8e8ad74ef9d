"""The mock host's reference web UI: a host's screens, rendered from the plugin's function descriptors.

It belongs to the mock host, not to the plugin: the plugin's runtime never imports it. Importing this
package loads nothing (Flask is an optional extra); use ``webui.app.create_app``, ``webui.seed.seed``
and ``webui.server.ServerThread``.
"""
