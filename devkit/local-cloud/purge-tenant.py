"""Empties the test tenant: every server, keypair, security group (but `default`) and image the
tenant owns (but the shared `runner-base`). CI runs it before the tests, so a run that failed
earlier on this machine cannot leave names behind that collide with the next run's (two groups
named `sandbox-runners` make Nova refuse a server). Usage: purge-tenant.py WORKDIR
"""
import os
import sys
import time

import openstack


def tenant_env(workdir):
    env = {}
    with open(os.path.join(workdir, "cloud.env")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
    return env


env = tenant_env(sys.argv[1])
tenant = openstack.connect(
    auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"], password=env["OS_PASSWORD"],
    project_name=env["OS_PROJECT_NAME"], user_domain_name="Default",
    project_domain_name="Default", region_name="RegionOne",
)
servers = list(tenant.compute.servers())
for server in servers:
    tenant.compute.delete_server(server, force=server.status == "BUILD")
deadline = time.time() + 120
while servers and time.time() < deadline:
    servers = list(tenant.compute.servers())
    time.sleep(1)
if servers:
    sys.exit(f"purge: {len(servers)} servers still there after 120 s")
keypairs = list(tenant.compute.keypairs())
for keypair in keypairs:
    tenant.compute.delete_keypair(keypair)
groups = [g for g in tenant.network.security_groups(project_id=env["OS_PROJECT_ID"])
          if g.name != "default"]
for group in groups:
    tenant.network.delete_security_group(group)
images = [i for i in tenant.image.images(owner=env["OS_PROJECT_ID"]) if i.name != "runner-base"]
for image in images:
    tenant.image.delete_image(image)
print(f"purge: removed {len(keypairs)} keypairs, {len(groups)} security groups, "
      f"{len(images)} images and every server of the test tenant")
