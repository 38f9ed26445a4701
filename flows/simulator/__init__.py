"""The bundled simulator: a generated government served over the platforms' real HTTP APIs.

It depends on nothing else in ``flows``, and the pipeline meets it only over HTTP::

    from flows.simulator import generate, Simulator
    sim = Simulator(generate(accounts=12, seed=7)).start()
    sim.registry()   # accounts.yaml pointing at sim.base_url

Every fake platform registered in ``flows.simulator.platforms.FAKE_PLATFORMS`` is
served; ``generate(accounts=showcase_size(), platforms="all")`` puts one account of
each behaviour on each of them (what ``custodian demo`` runs).
"""

from flows.simulator.generator import generate, showcase_size
from flows.simulator.government import Government
from flows.simulator.server import Simulator, serve

__all__ = ["Government", "Simulator", "generate", "serve", "showcase_size"]
