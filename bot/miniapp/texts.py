"""What the mini-program shows for each error code (Chinese, user-facing)."""

from __future__ import annotations

from bot.miniapp.errors import ErrorCode

MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "请求格式不正确",
    ErrorCode.QUANTITY_TOO_LARGE: "数量过大，请核对后再试；大宗订货请联系您的业务员。",
    ErrorCode.UNKNOWN_APP: "未知的小程序，请确认小程序已在后台配置",
    ErrorCode.INVALID_CODE: "登录凭证无效或已过期，请重新登录",
    ErrorCode.SESSION_REQUIRED: "请先登录",
    ErrorCode.SESSION_INVALID: "登录状态无效，请重新登录",
    ErrorCode.SESSION_EXPIRED: "登录已过期，请重新登录",
    ErrorCode.PHONE_CODE_INVALID: "手机号授权已失效，请重新授权",
    ErrorCode.PHONE_REFUSED: "该手机号暂时无法绑定，请联系客服",
    ErrorCode.NOT_BOUND: "请先绑定门店：用门店预留手机号一键验证，或扫描业务员提供的门店绑定码。",
    ErrorCode.NOT_FOUND: "没有找到相关订单。",
    ErrorCode.CART_CHANGED: "购物车已在别处修改，请刷新后再试。",
    ErrorCode.CART_EMPTY: "购物车是空的，请先添加商品。",
    ErrorCode.OVER_LIMIT: "数量超出平时的订货量，请确认后再提交。",
    ErrorCode.REFUSED: "下单未成功，请查看原因后调整。",
    ErrorCode.PHONE_MISMATCH: "这个手机号不是门店的预留手机号；如有多家门店，请选择要绑定的门店。",
    ErrorCode.CORE_INVALID: "请求内容有误，请刷新后再试。",
    ErrorCode.CORE_REFUSED: "订货系统暂时无法办理，请稍后再试或联系您的业务员。",
    ErrorCode.COUPON_FAILED: "优惠券领取失败，请稍后再试。",
    ErrorCode.INSUFFICIENT_POINTS: "积分不足，无法兑换。",
    ErrorCode.OUT_OF_STOCK: "该礼品已兑完。",
    ErrorCode.LIMIT_REACHED: "已达到每人兑换上限。",
    ErrorCode.ITEM_UNAVAILABLE: "该礼品暂不可兑换。",
    ErrorCode.NOT_ALLOWED: "您暂时无法兑换该礼品。",
    ErrorCode.CAMPAIGN_REFUSED: "暂时无法参加这个活动，请查看原因。",
    ErrorCode.WECHAT_BUSY: "微信服务繁忙，请稍后再试",
    ErrorCode.WECHAT_CONFIG: "小程序配置有误，请联系客服",
    ErrorCode.CORE_UNAVAILABLE: "系统繁忙，请稍后再试。",
    ErrorCode.NOT_CONFIGURED: "服务暂未开通，请联系客服",
    ErrorCode.SERVICE_BUSY: "服务繁忙，请稍后再试。",
    ErrorCode.SMS_LIMITED: "验证码发送太频繁，请稍后再试。",
}


def message(code: ErrorCode) -> str:
    return MESSAGES[code]
