"""One module per platform answering ``custodian registry add``: which of a pasted URL's
spellings are the platform's (``profile_ref``) and what its API says of the account
(``resolve``). Each platform's :class:`~flows.platforms.base.Platform` delegates to its own
module here; the types live in :mod:`flows.platforms.profiles`."""
