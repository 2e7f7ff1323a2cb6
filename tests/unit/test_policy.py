"""The process's policy enforcer (glance/policy.py) under threads: a worker's first
requests arrive at once."""

import threading

from oslo_config import cfg

from glance import context, policies, policy


def test_first_checks_of_many_threads_at_once_all_succeed(tmp_path):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("".join(f'"custom_rule_{n}": "role:admin"\n' for n in range(300)))
    private = cfg.ConfigOpts()
    private([], default_config_files=[])
    member = context.RequestContext(project_id="p1", roles=["member", "reader"])
    for _round in range(5):
        enforcer = policy.Enforcer(private, policy_file=str(policy_file))
        enforcer.register_defaults(policies.list_rules())
        barrier = threading.Barrier(16)
        errors: list[BaseException] = []

        def check(enforcer=enforcer, barrier=barrier, errors=errors) -> None:
            barrier.wait()
            try:
                enforcer.enforce("context_is_admin", member.to_dict(), member)
                assert enforcer.enforce("get_images", {"project_id": "p1"}, member)
            except BaseException as err:  # noqa: BLE001 - collected for the assert
                errors.append(err)
        threads = [threading.Thread(target=check) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert "custom_rule_299" in enforcer.rules
