"""Errors that reach the user: a Chinese message, never a traceback."""
from __future__ import annotations


class DocgenError(Exception):
    """An error with a message meant for the clerk (Chinese)."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UsageError(DocgenError):
    exit_code = 2


_OS_REASONS = {
    "ENOTDIR": "路径中有一段是文件而不是目录",
    "EISDIR": "这是一个目录，不是文件",
    "ENOENT": "文件或目录不存在",
    "EACCES": "没有访问权限",
    "EPERM": "不允许此操作（权限不足）",
    "ENOSPC": "磁盘空间已满",
    "EDQUOT": "磁盘配额已满",
    "EROFS": "文件系统是只读的",
    "EEXIST": "已经存在",
    "ENAMETOOLONG": "文件名太长",
    "EMFILE": "同时打开的文件太多",
    "EIO": "读写出错（磁盘或网络盘故障）",
}


def os_reason(exc: OSError) -> str:
    """Why a file-system operation failed, in Chinese (the system's own words for a rare errno)."""
    import errno

    return _OS_REASONS.get(errno.errorcode.get(exc.errno or 0, ""), exc.strerror or str(exc))


def os_error_message(exc: OSError) -> str:
    """A Chinese sentence for a file-system error: which path, and why."""
    reason = os_reason(exc)
    paths = [str(p) for p in (exc.filename, exc.filename2) if p]
    where = "、".join(paths)
    return f"无法读写 {where}：{reason}" if where else f"文件读写出错：{reason}"
