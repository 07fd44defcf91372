"""``python -m rookdb.testing.embedding_server``: the local embedding server in the foreground, driven
from other processes through its ``/_control`` API."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import uvicorn

from rookdb.ai.embedded_model import EmbeddedModel, EmbeddedModelConfig, get_embedded_model
from rookdb.testing.embedding_server._app import create_app
from rookdb.testing.embedding_server._faults import QuietDrops
from rookdb.testing.embedding_server._state import DEFAULT_MODELS, State


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local embedding server speaking provider protocols")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-key", default="test-key", help="key every vendor route expects ('' = none)")
    parser.add_argument("--threads", type=int, default=0,
                        help="ONNX threads of the model (0 = one per core), to leave cores to a server beside it")
    args = parser.parse_args(argv)
    state = State(api_key=args.api_key or None, models=set(DEFAULT_MODELS))
    model = EmbeddedModel(EmbeddedModelConfig(intra_op_threads=args.threads)) if args.threads else get_embedded_model()
    model.check()
    logging.getLogger("uvicorn.error").addFilter(QuietDrops())
    uvicorn.run(create_app(state, model), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
