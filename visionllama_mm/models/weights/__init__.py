"""The weights the authors published, by name (:mod:`.releases`), and their
download, conversion and cache (:mod:`.fetch`, the ``visionllama://`` scheme)."""
from .fetch import (ENV_BASE_URL, ENV_CACHE, SCHEME, cache_dir, closest, fetch_weights,
                    get_release, load_from_scheme, load_weights, register_weights_scheme,
                    release_url, weights_path)
from .releases import RELEASE_BASE_URL, RELEASES, ReleaseFile, ReleaseWeights

__all__ = [
    'RELEASES', 'RELEASE_BASE_URL', 'ReleaseFile', 'ReleaseWeights', 'ENV_CACHE',
    'ENV_BASE_URL', 'SCHEME', 'cache_dir', 'weights_path', 'release_url', 'closest',
    'get_release', 'fetch_weights', 'load_weights', 'load_from_scheme',
    'register_weights_scheme'
]
