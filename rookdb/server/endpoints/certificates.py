"""Certificate management: what ``CreateClientCertificateOperation`` and its siblings send."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.security import CertificateRequest
from rookdb.server.access import identity_of, security_of
from rookdb.server.requests import query_bool, query_int, query_required, read_json_object
from rookdb.server.responses import json_response, no_content

__all__ = ["create_certificate", "delete_certificate", "edit_certificate", "get_certificates", "put_certificate",
           "who_am_i"]

_DEFAULT_PAGE_SIZE = 1024


async def create_certificate(request: Request) -> Response:
    """Generate a client certificate; the answer is the zip the client hands back as ``raw_data``."""
    certificate = CertificateRequest.from_json(await read_json_object(request))
    administration = security_of(request).administration
    archive = await run_in_threadpool(administration.create, certificate, identity_of(request))
    return Response(archive, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename={quote(certificate.name)}.zip"})


async def put_certificate(request: Request) -> Response:
    certificate = CertificateRequest.from_json(await read_json_object(request))
    await run_in_threadpool(security_of(request).administration.put, certificate, identity_of(request))
    return Response(status_code=201)


async def edit_certificate(request: Request) -> Response:
    certificate = CertificateRequest.from_json(await read_json_object(request))
    await run_in_threadpool(security_of(request).administration.edit, certificate, identity_of(request))
    return Response(status_code=201)


async def delete_certificate(request: Request) -> Response:
    thumbprint = query_required(request, "thumbprint")
    await run_in_threadpool(security_of(request).administration.delete, thumbprint, identity_of(request))
    return no_content()


async def get_certificates(request: Request) -> Response:
    """One certificate (``?thumbprint=``, 404 when unknown) or a page of them, after the server's own."""
    security = security_of(request)
    metadata_only = query_bool(request, "metadataOnly")
    thumbprint = request.query_params.get("thumbprint")
    if thumbprint:
        found = security.administration.get(thumbprint, metadata_only=metadata_only)
        if found is None:
            return Response(status_code=404)
        results = [found]
    else:
        results = security.administration.list(
            start=query_int(request, "start", 0), page_size=query_int(request, "pageSize", _DEFAULT_PAGE_SIZE),
            name=request.query_params.get("name"), metadata_only=metadata_only)
    server = security.tls.certificate.thumbprint if security.tls is not None else None
    return json_response({"Results": results, "LoadedServerCert": server, "WellKnownAdminCerts": []})


async def who_am_i(request: Request) -> Response:
    """The caller's certificate definition (204 on a server without TLS, where no certificate is used)."""
    identity = identity_of(request)
    if identity.certificate is None:
        return no_content()
    found = security_of(request).administration.get(identity.certificate.thumbprint)
    return json_response(found) if found is not None else no_content()
