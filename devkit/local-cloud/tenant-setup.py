"""Creates what runner-fleet needs as a tenant, and writes the credentials for the tests.

A project `runners` with a non-admin user `fleet` (role `member`), a flavor, a network with a
subnet, and a small public image. Idempotent. Usage: tenant-setup.py WORKDIR
"""
import os
import sys

import openstack

workdir = sys.argv[1]
AUTH_URL = "http://127.0.0.1:5000/v3"
admin = openstack.connect()  # admin from the OS_* environment
identity = admin.identity
project = identity.find_project("runners") or identity.create_project(name="runners", domain_id="default")
user = identity.find_user("fleet") or identity.create_user(
    name="fleet", password="fleetpass", domain_id="default", default_project_id=project.id
)
identity.assign_project_role_to_user(project, user, identity.find_role("member"))
# Quotas sized for the benchmarks (hundreds of runners), not for a production tenant.
admin.set_compute_quotas(project.id, instances=1000, cores=4000, ram=4096000, key_pairs=2000)
admin.set_network_quotas(project.id, port=2000, security_group=200, security_group_rule=2000)

flavor = admin.compute.find_flavor("runner.small") or admin.compute.create_flavor(
    name="runner.small", vcpus=1, ram=512, disk=1
)
image = admin.image.find_image("runner-base")
if not image:
    path = os.path.join(workdir, "runner-base.img")
    with open(path, "wb") as f:
        f.write(os.urandom(1 << 20))
    image = admin.image.create_image(
        name="runner-base", filename=path, disk_format="raw", container_format="bare",
        visibility="public", wait=True,
    )

tenant = openstack.connect(
    auth_url=AUTH_URL, username="fleet", password="fleetpass", project_name="runners",
    user_domain_name="Default", project_domain_name="Default", region_name="RegionOne",
)
network = tenant.network.find_network("runners-net") or tenant.network.create_network(name="runners-net")
if not list(tenant.network.subnets(network_id=network.id)):
    tenant.network.create_subnet(
        network_id=network.id, ip_version=4, cidr="10.42.0.0/24", name="runners-subnet"
    )

with open(os.path.join(workdir, "cloud.env"), "w") as f:
    f.write(
        f"""# Written by devkit/local-cloud/tenant-setup.py
OS_AUTH_URL={AUTH_URL}
OS_REGION_NAME=RegionOne
OS_USER_DOMAIN_NAME=Default
OS_PROJECT_DOMAIN_NAME=Default
OS_USERNAME=fleet
OS_PASSWORD=fleetpass
OS_PROJECT_NAME=runners
OS_PROJECT_ID={project.id}
RUNNER_FLEET_ADMIN_USERNAME=admin
RUNNER_FLEET_ADMIN_PASSWORD=adminpass
RUNNER_FLEET_ADMIN_PROJECT=admin
RUNNER_FLEET_FLAVOR={flavor.name}
RUNNER_FLEET_IMAGE={image.name}
RUNNER_FLEET_IMAGE_ID={image.id}
RUNNER_FLEET_NETWORK={network.name}
RUNNER_FLEET_NETWORK_ID={network.id}
"""
    )
