"""Every dynamic provider of the kit: the code Pulumi's dynamic-provider process runs, apart from the program.

* :mod:`.rollout`: the rollout step (invalidate every changed policy, wait, verify each live over HTTPS with
  :mod:`.fetch`) whose report each TXT record publishes (RFC 8461 §8.1);
* :mod:`.guard`: the retirement guard that refuses removing a domain senders may still cache (RFC 8461 §8.3);
* :mod:`.tenant_release`: releasing a distribution tenant (disable, delete, wait until gone);
* :mod:`.rule_set`: the guard of SES's single active receipt rule set;
* :mod:`.invalidation`: the per-domain invalidations of older stacks, deleted by forgetting them;
* :mod:`.cloudfront`: their CloudFront client (the stack's ``aws:*`` settings, adaptive retries).

The dynamic resources that use them are declared next to the components they serve (:mod:`..rollout`,
:mod:`..guard`, :mod:`..tenant_release`, :mod:`..reports`), on :class:`~mtasts.resources.sdk.CachedProviderResource`.

A provider's module and class name are part of every state that holds one: Pulumi pickles it by reference
(``pulumi.dynamic.dynamic.serialize_provider``, dill) into the ``__provider`` input and deletes or updates the
resource with it later. The resource type stays ``pulumi-python:dynamic:Resource`` wherever the class lives,
and every provider's ``diff`` ignores ``__provider``, so a state written before the move sees no change; each
provider also stays importable at its first home for the deletes those states run
(tests/test_provider_state.py lists every name).
"""
