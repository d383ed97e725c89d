"""Registers the service users and the endpoints of Glance, Placement, Nova and Neutron in Keystone.

Idempotent: what exists is kept. Admin credentials come from the OS_* environment.
"""
import openstack

SERVICES = [
    ("glance", "image", "http://127.0.0.1:9292"),
    ("placement", "placement", "http://127.0.0.1:8778"),
    ("nova", "compute", "http://127.0.0.1:8774/v2.1"),
    ("neutron", "network", "http://127.0.0.1:9696"),
]

cloud = openstack.connect()
identity = cloud.identity
project = identity.find_project("service") or identity.create_project(name="service", domain_id="default")
admin = identity.find_role("admin")
for name, kind, url in SERVICES:
    user = identity.find_user(name) or identity.create_user(name=name, password=name + "pass", domain_id="default")
    identity.assign_project_role_to_user(project, user, admin)
    service = next((s for s in identity.services() if s.type == kind), None) or identity.create_service(
        name=name, type=kind
    )
    present = {e.interface for e in identity.endpoints(service_id=service.id)}
    for interface in {"public", "internal", "admin"} - present:
        identity.create_endpoint(service_id=service.id, interface=interface, url=url, region_id="RegionOne")
