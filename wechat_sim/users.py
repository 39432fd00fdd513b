"""User information and tags (WECHAT_PROTOCOL.md sections 7.2, 7.3, 12): openid per app, unionid per
open-platform group, follower state, subscribe scene, tags (<= 20 per user, <= 100 per account)."""

from __future__ import annotations

from typing import Any

from wechat_sim.errors import WxError
from wechat_sim.host import SimHost
from wechat_sim.model import Member, Tag

STAR_TAG = Tag(2, "星标组")  # present on every account, cannot be changed


class Users(SimHost):
    """Mixed into :class:`wechat_sim.simulator.Simulator`."""

    def user_info(self, appid: str, openid: str | None, lang: str = "zh_CN") -> dict[str, Any]:
        if not openid:
            raise WxError(41009)
        member = self.by_openid(appid, openid)
        if member is None:
            raise WxError(40003)
        app = self.app(appid)
        info: dict[str, Any] = {"subscribe": 1 if member.following else 0, "openid": member.openid}
        if member.following:
            info.update(
                language=lang or "zh_CN",
                subscribe_time=member.subscribe_time,
                remark=member.remark,
                groupid=0,
                tagid_list=list(member.tagids),
                subscribe_scene=member.subscribe_scene,
                qr_scene=member.qr_scene,
                qr_scene_str=member.qr_scene_str,
            )
        if app.group:
            info["unionid"] = self.unionid(member.person_id, app.group)
        return info

    def user_batchget(self, appid: str, body: dict[str, Any]) -> dict[str, Any]:
        users = body.get("user_list")
        if not isinstance(users, list) or not 1 <= len(users) <= 100:
            raise WxError(40032)
        return {
            "user_info_list": [
                self.user_info(appid, (u or {}).get("openid"), (u or {}).get("lang", "zh_CN")) for u in users
            ]
        }

    def user_list(self, appid: str, next_openid: str = "") -> dict[str, Any]:
        followers = sorted((m for m in self.members(appid) if m.following), key=lambda m: m.openid)
        start = 0
        if next_openid:
            start = next((i + 1 for i, m in enumerate(followers) if m.openid == next_openid), len(followers))
        page = followers[start : start + 10000]
        return {
            "total": len(followers),
            "count": len(page),
            "data": {"openid": [m.openid for m in page]},
            "next_openid": page[-1].openid if page else "",
        }

    def update_remark(self, appid: str, body: dict[str, Any]) -> None:
        member = self._follower(appid, body.get("openid"))
        remark = str(body.get("remark", ""))
        if len(remark) > 30:
            raise WxError(40035, "remark")
        member.remark = remark
        self.touch()

    def _follower(self, appid: str, openid: Any) -> Member:
        member = self.by_openid(appid, openid if isinstance(openid, str) else None)
        if member is None:
            raise WxError(40003)
        return member

    # tags ----------------------------------------------------------------------------------------
    def _tags(self, appid: str) -> dict[str, Tag]:
        tags = self.runtime(appid).tags
        tags.setdefault(str(STAR_TAG.id), Tag(STAR_TAG.id, STAR_TAG.name))
        return tags

    def _tag_id(self, appid: str, value: Any) -> Tag:
        tag = self._tags(appid).get(str(value))
        if tag is None:
            raise WxError(45159)
        return tag

    def tag_create(self, appid: str, name: Any) -> Tag:
        tags = self._tags(appid)
        if not isinstance(name, str) or not name.strip():
            raise WxError(45157)
        if len(name) > 30:
            raise WxError(45158)
        if any(t.name == name for t in tags.values()):
            raise WxError(45157)
        if len(tags) - 1 >= self.limits.max_tags:
            raise WxError(45056)
        rt = self.runtime(appid)
        tag = Tag(rt.next_tag_id, name)
        rt.next_tag_id += 1
        tags[str(tag.id)] = tag
        self.touch()
        return tag

    def tag_list(self, appid: str) -> list[dict[str, Any]]:
        members = self.members(appid)
        return [
            {"id": t.id, "name": t.name, "count": sum(1 for m in members if t.id in m.tagids)}
            for t in sorted(self._tags(appid).values(), key=lambda t: t.id)
        ]

    def tag_update(self, appid: str, tag_id: Any, name: Any) -> None:
        tag = self._tag_id(appid, tag_id)
        if tag.id <= 2:
            raise WxError(45058)
        if not isinstance(name, str) or not name.strip():
            raise WxError(45157)
        if len(name) > 30:
            raise WxError(45158)
        tag.name = name
        self.touch()

    def tag_delete(self, appid: str, tag_id: Any) -> None:
        tag = self._tag_id(appid, tag_id)
        if tag.id <= 2:
            raise WxError(45058)
        del self._tags(appid)[str(tag.id)]
        for member in self.members(appid):
            if tag.id in member.tagids:
                member.tagids.remove(tag.id)
        self.touch()

    def tag_members(self, appid: str, body: dict[str, Any], *, add: bool) -> None:
        openids = body.get("openid_list")
        if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
            raise WxError(40032)
        tag = self._tag_id(appid, body.get("tagid"))
        members = [self._follower(appid, o) for o in openids]
        for member in members:
            if add and tag.id not in member.tagids:
                if len(member.tagids) >= self.limits.max_tags_per_user:
                    raise WxError(45059)
                member.tagids.append(tag.id)
            elif not add and tag.id in member.tagids:
                member.tagids.remove(tag.id)
        self.touch()

    def tag_users(self, appid: str, tag_id: Any, next_openid: str = "") -> dict[str, Any]:
        tag = self._tag_id(appid, tag_id)
        tagged = sorted(m.openid for m in self.members(appid) if tag.id in m.tagids)
        start = tagged.index(next_openid) + 1 if next_openid in tagged else 0
        page = tagged[start : start + 10000]
        return {"count": len(page), "data": {"openid": page}, "next_openid": page[-1] if page else ""}

    def tags_of(self, appid: str, openid: Any) -> list[int]:
        return list(self._follower(appid, openid).tagids)

    def tag_person(self, person_id: str, appid: str, tag_name: str) -> Tag:
        """Python API: put a person under a tag (created when missing), as an operator would."""
        tag = next((t for t in self._tags(appid).values() if t.name == tag_name), None)
        tag = tag or self.tag_create(appid, tag_name)
        member = self.member(person_id, appid)
        if tag.id not in member.tagids:
            member.tagids.append(tag.id)
        self.touch()
        return tag
