"""The browser path: Garde-fou as the browsers' proxy (mitmproxy as a library), on the API's pipeline.

``server.BrowserProxy`` runs mitmproxy; ``ingress.BrowserIngress`` is the addon that hands every flow
to ``Pipeline.process`` with the generic ``WebAdapter``; ``pac`` writes the proxy auto-configuration,
``ca`` the institution CA, ``pages`` what people see, ``acks`` the warnings acknowledged.
"""
