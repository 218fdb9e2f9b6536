"""The control workflow: inspection orders from selection decisions, and what controls found.

A selection run decides which consignments to control and how; ``orders.create_orders`` turns
each decided control into an inspection order that officers work through the states of
``states`` (planned → in_progress → done, or cancelled). Along the way they record NII scan
results and physical findings (``results``), the outcome (``outcome``, which completes the order
and writes the ``control_outcomes`` row the learning loop trains on) and overrides of the
control type. quaywatch emits the DCSA customs events CUSS, CUSI and CUSR (``events``). Every
step is one transaction with an audit event and a row in the order's history.
"""
