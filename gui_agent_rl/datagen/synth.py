"""A synthetic corpus in the SPEC §2 layout: drawn phone screens and steps that act on what was drawn.

Each task opens an app from the launcher, then does a few things on list pages (click a row or a
button, long-press a row and pick from its menu, type into the search box above a keyboard, swipe
the list, wait for a page to load, go back, ask the user which row they mean), and ends with
``task_completed`` (sometimes ``task_impossible``). Click and long-click boxes are the drawn
targets' boxes; swipes run vertically inside the list. Across tasks the middle actions cycle through
all kinds, so all ten action types appear once there are two tasks or more and at least eight middle
steps in all (``tasks * (steps - 2) >= 8``; the default 6 tasks of 5 steps have 18).
The same seed gives the same files.

>>> synthesize_corpus("corpus", tasks=6, steps=5, seed=0)  # doctest: +SKIP
30
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from gui_agent_rl.datagen.screens import Layout, Screen, render
from gui_agent_rl.schemas import Box

# action_type -> its Chinese name, as recorded corpora list them in every step's input.
ACTION_TYPE_LIST = {
    "open_app": "打开APP", "click": "点击", "long_click": "长按", "type": "输入", "swipe": "滑动",
    "task_completed": "任务完成", "task_impossible": "任务无法完成", "inquiry": "反问", "wait": "等待",
    "back": "回退",
}  # fmt: skip
MIDDLE_ACTIONS = ("click", "long_click", "type", "swipe", "wait", "back", "inquiry")
# app -> (main page title, list rows, bottom buttons, words to type); space-separated for brevity
_APP_TABLE = {
    "微信": (
        "通讯录",
        "张伟 李娜 王芳 刘洋 陈静 杨帆 赵磊 黄丽 周杰 吴敏 徐强 孙悦",
        "微信 通讯录 发现 我",
        "你好 晚上一起吃饭",
    ),
    "淘宝": (
        "购物车",
        "金丝楠木书签 无线蓝牙耳机 纯棉短袖T恤 保温杯 机械键盘 运动跑鞋 "
        "雨伞 台灯 数据线 双肩包 笔记本 洗发水",
        "首页 消息 购物车 我的",
        "耳机 书签",
    ),
    "起点读书": (
        "书架",
        "剑来 诡秘之主 雪中悍刀行 凡人修仙传 大奉打更人 庆余年 "
        "斗破苍穹 全职高手 盗墓笔记 三体 明朝那些事儿 琅琊榜",
        "书架 精选 发现 我",
        "剑来 三体",
    ),
    "设置": (
        "设置",
        "WLAN 蓝牙 移动网络 显示和亮度 声音和振动 通知 电池 存储 隐私 应用管理 系统和更新 关于手机",
        "",
        "蓝牙 电池",
    ),
    "高德地图": (
        "附近",
        "加油站 停车场 餐厅 酒店 景点 地铁站 银行 医院 超市 公园 咖啡馆 电影院",
        "首页 附近 消息 我的",
        "西湖 保利观塘泽园",
    ),
    "美团": (
        "外卖",
        "麦当劳 肯德基 喜茶 瑞幸咖啡 沙县小吃 兰州拉面 必胜客 海底捞 星巴克 老乡鸡 蜜雪冰城 华莱士",
        "首页 外卖 订单 我的",
        "奶茶 汉堡",
    ),
}
APPS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    app: (title, tuple(rows.split()), tuple(buttons.split()), tuple(words.split()))
    for app, (title, rows, buttons, words) in _APP_TABLE.items()
}
DETAIL_ROWS = ("查看详情", "加入收藏", "分享给朋友", "评论", "更多设置", "举报", "历史记录", "帮助与反馈")
MENU_ITEMS = ("置顶", "复制", "删除")


@dataclass
class _Step:
    action: dict
    description: str
    next_screen: Screen


def _task_ids(tasks: int) -> list[str]:
    # Different digit counts (9, 36, ..., 144), so numeric and text order differ on purpose.
    return [str(9 * (i + 1) ** 2) for i in range(tasks)]


def plan_actions(tasks: int, steps: int, seed: int) -> list[list[str]]:
    """Action types per task: ``open_app`` first, an ending last, the middle cycling through kinds."""
    rng = random.Random(seed)
    cycle: list[str] = []
    plans = []
    for t in range(tasks):
        plan = ["open_app"]
        for _ in range(max(0, steps - 2)):
            if plan[-1] == "long_click":
                plan.append("click")  # pick an item of the menu the long-press opened
                continue
            if not cycle:
                cycle = rng.sample(MIDDLE_ACTIONS, len(MIDDLE_ACTIONS))
            plan.append(cycle.pop())
        if steps >= 2:
            plan.append("task_impossible" if t % 4 == 1 else "task_completed")
        plans.append(plan[:steps])
    return plans


def _box_text(box: Box) -> str:
    return f"{int(box.x1)},{int(box.y1)},{int(box.x2)},{int(box.y2)}"


def _act(kind: str, value: str, description: str) -> dict:
    return {"action_type": kind, "action_parameter": {kind: value}, "action_description": description}


def _main_page(app: str) -> Screen:
    title, rows, buttons, _ = APPS[app]
    return Screen(title=title, rows=rows, buttons=buttons, search="")


def _step(kind: str, app: str, screen: Screen, layout: Layout, *, rng: random.Random, stack: list) -> _Step:
    """The action of ``kind`` on the drawn ``screen`` and the screen it leads to."""
    visible = layout.visible_rows or list(screen.rows[:1])
    if kind == "open_app":
        return _Step(_act(kind, app, f"打开{app}"), "打开APP", _main_page(app))
    if kind == "click":
        return _click(screen, layout, rng, stack)
    if kind == "long_click":
        label = rng.choice(visible)
        act = _act(kind, _box_text(layout.boxes[f"row:{label}"]), f"长按{label}")
        return _Step(act, f"长按{label}", screen.but(menu=MENU_ITEMS))
    if kind == "type":
        word = rng.choice(APPS[app][3])
        results = tuple(r for r in screen.rows if word[:1] in r) + DETAIL_ROWS[:4]
        return _Step(_act(kind, word, f"输入{word}"), f"输入{word}",
                     screen.but(search=word, keyboard=False, rows=results, scroll=0))  # fmt: skip
    if kind == "swipe":
        lst = layout.boxes["list"]
        x = int(lst.center.x)
        start, end = int(lst.y2 - 0.15 * lst.height), int(lst.y1 + 0.15 * lst.height)
        act = _act(kind, f"{x},{start},{x},{end}", "向上滑动列表")
        shift = max(1, len(visible) // 2)
        return _Step(act, "向上滑动列表", screen.but(scroll=min(screen.scroll + shift, len(screen.rows) - 1)))
    if kind == "wait":
        return _Step(_act(kind, "", "等待页面加载"), "等待", screen.but(loading=False))
    if kind == "back":
        previous = stack.pop() if stack else screen
        return _Step(_act(kind, "", "返回上一页"), "返回上一页", previous.but(menu=(), keyboard=False))
    if kind == "inquiry":
        return _inquiry(screen, visible, rng)
    text = f"已在{app}中完成任务" if kind == "task_completed" else f"{app}中找不到任务要求的内容,无法继续"
    return _Step(_act(kind, text, ACTION_TYPE_LIST[kind]), ACTION_TYPE_LIST[kind], screen)


def _click(screen: Screen, layout: Layout, rng: random.Random, stack: list) -> _Step:
    if screen.menu:
        item = rng.choice(screen.menu)
        box = layout.boxes[f"menu:{item}"]
        return _Step(_act("click", _box_text(box), f"点击{item}"), f"点击{item}", screen.but(menu=()))
    buttons = [k for k in layout.boxes if k.startswith("button:")]
    rows = [k for k in layout.boxes if k.startswith("row:")]
    key = rng.choice(buttons) if buttons and (not rows or rng.random() < 0.25) else rng.choice(rows)
    label = key.split(":", 1)[1]
    stack.append(screen)
    nxt = Screen(title=label, rows=DETAIL_ROWS, buttons=("确定", "取消"))
    return _Step(_act("click", _box_text(layout.boxes[key]), f"点击{label}"), f"点击{label}", nxt)


def _inquiry(screen: Screen, visible: list[str], rng: random.Random) -> _Step:
    candidates = visible[:4]
    value = {
        "Question": f"{screen.title}页面有多个选项,请问您想选择哪一个?",
        "CandidatesList": repr(candidates),
        "PicDescribe": f"{screen.title}页面显示了{len(visible)}个条目。",
        "AnswerIndex": rng.randrange(len(candidates)),
    }
    act = _act("inquiry", json.dumps(value, ensure_ascii=False, indent=2), "询问用户要选择哪一项")
    return _Step(act, "询问用户要选择哪一项", screen)


def _prepare(screen: Screen, kind: str) -> Screen:
    """The page as the action finds it: typing needs a focused search box and a keyboard, waiting a
    page still loading; anything else a loaded page."""
    if kind == "type":
        return screen.but(keyboard=True, search=screen.search or "", loading=False, menu=())
    return screen.but(loading=kind == "wait")


def _step_input(app: str, descriptions: list[str], names: list[str], k: int) -> dict:
    middle = ",".join(descriptions[1:-1])
    return {
        "task_content": f"在{app}中{middle}。" if middle else f"打开{app}。",
        "task_path": {str(i + 1): d for i, d in enumerate(descriptions)},
        "screen_path1": names[k - 1] if k else "",
        "screen_path2": names[k],
        "history_path_all": descriptions[:k],
        "app_name": app,
        "action_type_list": ACTION_TYPE_LIST,
    }


def synthesize_task(
    task_dir: Path, plan: list[str], app: str, *, rng: random.Random, size: tuple[int, int], quality: int
) -> int:
    """Draw and write one task's screens and ``step_<k>.json`` files; returns the number of steps."""
    task_dir.mkdir(parents=True, exist_ok=True)
    screen = Screen(title="", rows=tuple(APPS), launcher=True)
    stack: list[Screen] = []
    names, done = [], []
    for k, kind in enumerate(plan):
        screen = _prepare(screen, kind)
        image, layout = render(screen, *size)
        names.append(f"{task_dir.name}_{k}.jpg")
        image.save(task_dir / names[-1], quality=quality, optimize=True)
        done.append(_step(kind, app, screen, layout, rng=rng, stack=stack))
        screen = done[-1].next_screen
    descriptions = [s.description for s in done]
    for k, step in enumerate(done):
        record = {"input": _step_input(app, descriptions, names, k), "output": step.action}
        text = json.dumps(record, ensure_ascii=False, indent=2)
        (task_dir / f"step_{k}.json").write_text(text + "\n", encoding="utf-8")
    return len(done)


def synthesize_corpus(
    root: str | os.PathLike[str],
    tasks: int,
    steps: int,
    seed: int = 0,
    *,
    width: int = 1080,
    height: int = 2400,
    quality: int = 60,
) -> int:
    """Write ``tasks`` task folders of ``steps`` steps each under ``root``; returns the step count."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    apps = list(APPS)
    total = 0
    for t, (task_id, plan) in enumerate(zip(_task_ids(tasks), plan_actions(tasks, steps, seed), strict=True)):
        rng = random.Random(f"{seed}/{task_id}")
        app = apps[(t + seed) % len(apps)]
        total += synthesize_task(root / task_id, plan, app, rng=rng, size=(width, height), quality=quality)
    return total
