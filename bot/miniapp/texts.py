"""What the mini-program shows for each error code (Chinese, user-facing)."""

from __future__ import annotations

from bot.miniapp.errors import ErrorCode

MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "请求格式不正确",
    ErrorCode.UNKNOWN_APP: "未知的小程序，请确认小程序已在后台配置",
    ErrorCode.INVALID_CODE: "登录凭证无效或已过期，请重新登录",
    ErrorCode.SESSION_REQUIRED: "请先登录",
    ErrorCode.SESSION_INVALID: "登录状态无效，请重新登录",
    ErrorCode.SESSION_EXPIRED: "登录已过期，请重新登录",
    ErrorCode.PHONE_CODE_INVALID: "手机号授权已失效，请重新授权",
    ErrorCode.PHONE_REFUSED: "该手机号暂时无法绑定，请联系客服",
    ErrorCode.WECHAT_BUSY: "微信服务繁忙，请稍后再试",
    ErrorCode.WECHAT_CONFIG: "小程序配置有误，请联系客服",
    ErrorCode.NOT_CONFIGURED: "服务暂未开通，请联系客服",
}


def message(code: ErrorCode) -> str:
    return MESSAGES[code]
