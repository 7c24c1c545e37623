"""The Registry gRPC service: what services exist, and what the caller may get from them.

Discovery is for identified members only, and tells a client exactly what a query would
release to it — the fields its policy names for a purpose that the service's catalogue
also offers — so a client never has to learn the policy by being refused. Its answers are
not recorded (they hold no one's data); a caller it cannot identify is, under ``DISCOVERY``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

import grpc

from hub.pipeline.stages import TREATMENTS
from hub.services.calls import CallRecorder
from hub.services.exchange import abort_with
from hub.store.base import HubStore, ServiceRoute
from jembatan.errors import Refusal
from jembatan.ids import is_code
from jembatan.v1 import registry_pb2, registry_pb2_grpc
from policies import PolicySet

# The purpose under which the log records a discovery call (one refused: see above).
DISCOVERY = "discovery"


def catalogue_to_proto(catalogue_json: str) -> list[registry_pb2.FieldSpec]:
    return [
        registry_pb2.FieldSpec(
            name=spec["name"],
            type=spec["type"],
            description=spec["description"],
            sensitivity=registry_pb2.Sensitivity.Value(spec["sensitivity"].upper()),
        )
        for spec in json.loads(catalogue_json)
    ]


def catalogue_to_json(fields: Iterable[registry_pb2.FieldSpec]) -> str:
    """The stored form, the same as ``hub.admin.register_service`` writes."""
    return json.dumps(
        [
            {
                "name": f.name,
                "type": f.type,
                "description": f.description,
                "sensitivity": registry_pb2.Sensitivity.Name(f.sensitivity).lower(),
            }
            for f in fields
        ]
    )


class RegistryService(registry_pb2_grpc.RegistryServicer):
    def __init__(
        self,
        calls: CallRecorder,
        registry: HubStore,
        policies: Callable[[], PolicySet],
    ) -> None:
        self._calls = calls.bind("jembatan.v1.Registry", DISCOVERY)
        self._registry = registry
        # A callable, so a reloaded policy set is what discovery reports.
        self._policies = policies

    def _routes(self) -> tuple[dict[str, int], list[ServiceRoute]]:
        """Each service's current catalogue version, and the routes: one storage step."""
        return self._registry.current_catalogue_versions(), self._registry.services()

    async def ListServices(
        self, request: registry_pb2.ListServicesRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.ListServicesResponse:
        await self._calls.caller(context, "ListServices", request)
        versions, routes = await self._calls.store(self._routes)
        return registry_pb2.ListServicesResponse(
            services=[
                registry_pb2.ServiceDescriptor(
                    service_id=route.service_id,
                    agency_id=route.agency_id,
                    endpoint=route.endpoint,
                    fields=catalogue_to_proto(route.catalogue_json),
                    catalogue_version=versions.get(route.service_id, 0),
                )
                for route in routes
                if route.enabled
            ]
        )

    async def AllowedServices(
        self, request: registry_pb2.AllowedServicesRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.AllowedServicesResponse:
        member = await self._calls.caller(context, "AllowedServices", request)
        if not is_code(request.purpose):
            await abort_with(context, Refusal("MALFORMED_REQUEST", "purpose is not a purpose code"))
        policies = self._policies()
        versions, routes = await self._calls.store(self._routes)
        services = []
        for route in routes:
            if not route.enabled:
                continue
            allowed = _allowed(policies, member.member_id, request.purpose, route, versions)
            if allowed.fields:
                services.append(allowed)
        return registry_pb2.AllowedServicesResponse(
            purpose=request.purpose, policy_version=policies.version, services=services
        )

    async def GetCatalogue(
        self, request: registry_pb2.GetCatalogueRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.Catalogue:
        await self._calls.caller(context, "GetCatalogue", request)
        found = await self._calls.store(
            self._registry.catalogue, request.service_id, request.version or None
        )
        if found is None:
            await abort_with(
                context,
                Refusal(
                    "UNKNOWN_TARGET",
                    f"no catalogue version {request.version or 'current'}"
                    f" of {request.service_id!r}",
                ),
            )
            raise AssertionError("unreachable")
        return registry_pb2.Catalogue(
            service_id=found.service_id,
            version=found.version,
            fields=catalogue_to_proto(found.catalogue_json),
            approved_at=found.approved_at,
        )


def _allowed(
    policies: PolicySet,
    client: str,
    purpose: str,
    route: ServiceRoute,
    versions: Mapping[str, int],
) -> registry_pb2.AllowedService:
    """The catalogue's fields the policy releases to ``client``, with their treatment: a
    policy field the agency does not offer, or an offered field no rule names, is left out."""
    decision = policies.decide(
        client,
        purpose,
        route.service_id,
        policies.allowed_fields(client, purpose, route.service_id),
    )
    return registry_pb2.AllowedService(
        service_id=route.service_id,
        agency_id=route.agency_id,
        catalogue_version=versions.get(route.service_id, 0),
        fields=[
            registry_pb2.AllowedField(
                spec=spec,
                treatment=TREATMENTS[decision.releases[spec.name].treatment],
                detail=decision.releases[spec.name].detail,
            )
            for spec in catalogue_to_proto(route.catalogue_json)
            if spec.name in decision.releases
        ],
    )
