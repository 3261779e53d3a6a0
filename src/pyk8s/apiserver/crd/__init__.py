"""apiextensions.k8s.io/v1 CustomResourceDefinitions: serving kinds defined at run time.

Why this exists: kubectl, kopf and lightkube expect CRDs to work as on
kube-apiserver. The pieces: :mod:`.strategy` validates CRDs, :mod:`.controller`
serves and withdraws them (through :mod:`.serving`), and custom objects are
defaulted (:mod:`.defaulting`), validated (:mod:`.structural`, CEL rules in
:mod:`.celrules`) and printed (:mod:`.printer`) from their CRD's schema.
"""
