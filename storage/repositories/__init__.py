"""Repositories: queries and changes by aggregate, returning domain types; none commits.

One module per aggregate, each a class over the unit of work's session
(:class:`storage.uow.UnitOfWork` makes them): :mod:`.members`, :mod:`.invitations`,
:mod:`.link_codes`, :mod:`.conversations`, :mod:`.plan`, :mod:`.agencies`,
:mod:`.audit`, :mod:`.submissions`, :mod:`.jobs`.
"""
