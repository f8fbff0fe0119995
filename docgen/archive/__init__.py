"""The archive (section 10 of the standard): personal archives (一人一档), annual work
archives per station and year, notice volumes per sending institution and month; 档号 by
DA/T 22 with a 归档章 on the first page; 3-year retention as data (``archive/policy.toml``);
holds, a two-approver disposal procedure with tombstones and a permanent 销毁清册;
SHA-256 fixity checks and a hash-chained audit log.

Modules: ``policy`` (retention rules), ``triggers`` (retention start from the records),
``store`` (SQLite registry, audit chain, lock), ``volumes`` (PDF assembly and stamp),
``disposal`` (销毁清册), ``service`` (the operations).
"""
from .policy import Policy, load_policy, policy_path
from .service import Archive, Filed, make_dh

__all__ = ["Archive", "Filed", "Policy", "load_policy", "make_dh", "policy_path"]
