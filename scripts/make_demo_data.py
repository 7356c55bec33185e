# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Generates the small Chinese data set that ships with the demo.

Everything here is synthetic: sentences come from hand-written templates whose
slots are filled from hand-written word banks, with a seeded random generator,
so the output is identical on every run. It contains

* `corpus.txt`: a pretraining corpus in BERT's format (one sentence per
  line, a blank line between documents) about weather, travel, food, school,
  technology, sports, history, city life, shopping, nature and people;
* `sentiment/{train,dev}.tsv`: hotel, restaurant and product reviews in the
  ChnSentiCorp layout (`label<TAB>text_a`, 1 = positive), balanced, some of
  them turning with "但是" so that the final clause decides the label;
* `mrc/{train,dev}.json`: span-extraction questions in the CMRC 2018 format
  over generated paragraphs (biographies, companies and their products, small
  towns, marathons); dev questions carry one to three reference answers;
* `vocab.txt`: a WordPiece vocabulary that covers every text above;
* `README.md`: what the files are, with their sizes.

The data is regular enough for a tiny model to learn something measurable in
a few minutes on a CPU. Usage:

    python scripts/make_demo_data.py [--output_dir=scripts/demo_data]
"""

import collections
import functools
import json
import os
import random
import re
import string
import sys

from absl import app
from absl import flags
from absl import logging
import tensorflow.compat.v1 as tf

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pretrain import tokenization

DEFAULT_OUTPUT_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "demo_data")
DEFAULT_SEED = 20261125

NUM_DOCUMENTS = 240
MIN_SENTENCES, MAX_SENTENCES = 3, 8
REVIEWS_PER_LABEL = {"train": 400, "dev": 100}
MIXED_REVIEW_RATE = 0.25
MRC_PARAGRAPHS = {"train": 32, "dev": 10}
QUESTIONS_PER_PARAGRAPH = 5
MAX_DEV_REFERENCES = 3
MAX_DRAWS_PER_ITEM = 50

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SPELLING_CHARACTERS = string.ascii_lowercase + string.digits

_FORMATTER = string.Formatter()


class Phrase(str):
    """A slot value that also names shorter spans accepted as answers.

    For example `Phrase("1987年", ["1987"])` renders as "1987年" while a
    reference answer may also be just the number.
    """

    def __new__(cls, text, variants=()):
        phrase = super(Phrase, cls).__new__(cls, text)
        for variant in variants:
            if variant not in text:
                raise ValueError("Answer variant %r is not part of %r." %
                                 (variant, text))
        phrase.variants = tuple(variants)
        return phrase


def with_unit(numbers, unit):
    """Returns Phrases "<n><unit>" that also accept the bare number."""
    return [Phrase("%s%s" % (number, unit), [str(number)])
            for number in numbers]


def as_text(numbers):
    """Returns the numbers as strings."""
    return [str(number) for number in numbers]


# ---------------------------------------------------------------------------
# Word banks shared by several generators.

SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐",
            "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗", "梁", "宋",
            "郑", "谢", "韩", "唐", "冯", "许", "邓", "曹")
GIVEN_NAMES = ("小明", "文静", "子涵", "浩然", "雨桐", "思远", "佳怡", "一鸣",
               "晓东", "梦琪", "建华", "海燕", "志强", "欣然", "俊杰", "丽娟",
               "明轩", "诗雨", "天宇", "若兰")
PERSON_NAMES = [surname + given for surname in SURNAMES
                for given in GIVEN_NAMES]

CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "重庆",
          "武汉", "西安", "长沙", "苏州", "天津", "青岛", "厦门", "昆明",
          "大连", "哈尔滨", "郑州", "济南", "合肥", "福州", "南昌", "贵阳",
          "兰州", "沈阳", "宁波", "无锡", "桂林", "拉萨"]

COMPANIES = ["星河科技", "云帆电子", "青橙智能", "远航数码", "蓝鲸科技",
             "极光通信", "翠微电子", "北辰智能", "银杉科技", "火石数码"]
PRODUCT_BRANDS = ("Lumo", "AirNote", "Pixo", "Zeta", "Orbit", "Kite", "Vela",
                  "Nimbus")
PRODUCT_MODELS = ("5", "X2", "Pro 3", "Mini 2", "15", "S8", "Max", "10 Plus")
PRODUCTS = ["%s %s" % (brand, model) for brand in PRODUCT_BRANDS
            for model in PRODUCT_MODELS]
DEVICE_CATEGORIES = ["智能手机", "平板电脑", "智能手表", "无线耳机",
                     "笔记本电脑"]

WORK_MODIFIERS = ("远方的", "夏日的", "北方的", "沉默的", "风中的", "海边的",
                  "午夜的", "蓝色的", "老街的", "春天的", "雪地里的", "山那边的")
WORK_NOUNS = ("灯塔", "河流", "来信", "列车", "麦田", "房子", "约定", "鲸鱼",
              "少年", "花园", "钟声", "旅人")
WORKS = [modifier + noun for modifier in WORK_MODIFIERS
         for noun in WORK_NOUNS]

CAREERS = [
    {"job": "作家", "org": "星光出版社", "position": "文学编辑",
     "work_kind": "小说", "audience": "读者", "award": "青年文学奖"},
    {"job": "作家", "org": "青禾文学杂志社", "position": "主编",
     "work_kind": "散文集", "audience": "读者", "award": "金笔文学奖"},
    {"job": "导演", "org": "远山电影制片厂", "position": "艺术总监",
     "work_kind": "电影", "audience": "观众", "award": "最佳导演奖"},
    {"job": "导演", "org": "长河影视公司", "position": "首席导演",
     "work_kind": "纪录片", "audience": "观众", "award": "纪录片金奖"},
    {"job": "音乐人", "org": "天籁唱片公司", "position": "音乐总监",
     "work_kind": "专辑", "audience": "听众", "award": "年度最佳专辑奖"},
    {"job": "画家", "org": "东方美术馆", "position": "馆长",
     "work_kind": "油画", "audience": "观众", "award": "美术金奖"},
    {"job": "诗人", "org": "清泉诗社", "position": "社长",
     "work_kind": "诗集", "audience": "读者", "award": "新诗奖"},
    {"job": "摄影师", "org": "视野杂志社", "position": "首席摄影师",
     "work_kind": "摄影集", "audience": "观众", "award": "摄影艺术奖"},
]

HOBBIES = ["钓鱼", "下围棋", "爬山", "养花", "弹钢琴", "跑步", "集邮",
           "打乒乓球", "做饭", "写书法"]
MONTHS = as_text(range(1, 13))
DISHES = [
    {"name": "红烧肉", "main": "五花肉", "side": "冰糖", "cook": "小火慢炖",
     "minutes": "60", "color": "红亮"},
    {"name": "宫保鸡丁", "main": "鸡胸肉", "side": "花生米", "cook": "大火快炒",
     "minutes": "5", "color": "油亮"},
    {"name": "麻婆豆腐", "main": "豆腐", "side": "牛肉末", "cook": "小火慢煮",
     "minutes": "10", "color": "红亮"},
    {"name": "糖醋排骨", "main": "排骨", "side": "白芝麻", "cook": "先炸后炒",
     "minutes": "30", "color": "金黄"},
    {"name": "西红柿炒鸡蛋", "main": "西红柿", "side": "鸡蛋", "cook": "翻炒",
     "minutes": "5", "color": "红黄相间"},
    {"name": "酸菜鱼", "main": "草鱼", "side": "酸菜", "cook": "煮",
     "minutes": "15", "color": "白嫩"},
    {"name": "清蒸鲈鱼", "main": "鲈鱼", "side": "葱丝", "cook": "蒸",
     "minutes": "8", "color": "洁白"},
    {"name": "鱼香肉丝", "main": "猪里脊", "side": "木耳", "cook": "大火快炒",
     "minutes": "5", "color": "红亮"},
    {"name": "地三鲜", "main": "茄子", "side": "土豆", "cook": "炸",
     "minutes": "10", "color": "金黄"},
    {"name": "水煮牛肉", "main": "牛肉", "side": "豆芽", "cook": "煮",
     "minutes": "12", "color": "红亮"},
]

# ---------------------------------------------------------------------------
# Pretraining corpus: sentence templates per topic and their slot banks. A
# slot such as {city2} or {home_city} draws from the bank "city" (see
# `bank_name`); slots sharing a bank get different values in one document,
# and every slot keeps its value for the whole document.

CORPUS_TOPICS = collections.OrderedDict([
    ("weather", [
        "今天{city}的天气{weather}，气温在{temp_low}到{temp_high}度之间。",
        "气象台预报，明天{city}将有{rain}，出门记得带伞。",
        "{city}的{season_scene}。",
        "早上的风很大，风力达到了{wind}级。",
        "因为天气转凉，很多人穿上了{clothing}。",
        "天气好的时候，市民喜欢去公园{outdoor}。",
        "{climate[month]}月是{city}一年中最{climate[feel]}的时候。",
        "专家提醒大家，{weather_advice}。",
        "这几天空气质量{air}，很适合户外运动。",
        "下午突然下起了{rain}，路上的行人纷纷躲进商店。",
        "到了晚上，气温降到了{temp_low}度左右。",
    ]),
    ("travel", [
        "{person}和家人计划{month}月去{city}旅行。",
        "出发前，他们在网上查好了路线，还订好了{ticket}。",
        "他们坐{transport}出发，路上用了{hours}个小时。",
        "到了{city}以后，他们住进了一家靠近{stay_place}的酒店。",
        "第二天，他们参观了{sight_kind}，那里的风景非常{scenery}。",
        "导游告诉他们，这里每年要接待{visitors}万名游客。",
        "中午他们在当地的小饭馆吃了{dish[name]}，味道很{taste}。",
        "晚上，他们在{street}散步，买了一些{souvenir}作为纪念。",
        "这次旅行一共花了{money}元，大家都觉得很值得。",
        "{person}说，下次还想带朋友一起来{city}。",
    ]),
    ("food", [
        "{dish[name]}是很多家庭餐桌上常见的一道菜。",
        "做{dish[name]}需要准备{dish[main]}、{dish[side]}和一点{seasoning}。",
        "先把{dish[main]}洗干净，再放进锅里{dish[cook]}。",
        "火候很重要，一般要{dish[cook]}{dish[minutes]}分钟左右。",
        "做好的{dish[name]}颜色{dish[color]}，闻起来非常香。",
        "很多人喜欢配上一碗{staple}一起吃。",
        "{person}的奶奶做的{dish[name]}是全家人的最爱。",
        "如果喜欢吃辣，可以多放一些{spicy}。",
        "这家餐厅的{dish[name]}每天都要卖出{portions}份。",
        "吃完饭以后，大家又喝了一杯{drink}。",
    ]),
    ("school", [
        "{person}是{school}{grade}的学生。",
        "每天早上{hour}点，同学们就开始上{subject}课。",
        "{subject}老师讲课{teach_style}，同学们都很喜欢上这门课。",
        "这个学期，班里一共有{class_size}名同学。",
        "下周要进行{subject2}考试，大家都在认真复习。",
        "课后，{person}常常去图书馆借{book_kind}。",
        "学校每年{month}月都会举办{school_event}。",
        "在上次的{school_event}上，他们班获得了第{rank}名。",
        "老师鼓励大家多提问，多思考。",
        "放学以后，同学们在操场上{sport_play}。",
    ]),
    ("technology", [
        "{company}最近发布了一款新手机{product}。",
        "这款手机搭载了自研的{chip}芯片，运行速度比上一代快了{percent}%。",
        "它的屏幕尺寸是{inch}英寸，电池容量达到{mah}毫安时。",
        "很多年轻人喜欢用手机{app_use}。",
        "人工智能技术正在改变{industry}行业。",
        "工程师们正在研究如何让{device}更加省电。",
        "{city}已经建成了{base_count}万个5G基站。",
        "现在，用手机扫码就可以{pay_scene}。",
        "专家认为，未来十年{tech_trend}会越来越普及。",
        "{person}在一家科技公司担任{tech_job}。",
        "新版本的{app}增加了{feature}功能。",
    ]),
    ("sports", [
        "昨晚的{sport}比赛中，{team}以{win_score}战胜了{team2}。",
        "{person}在比赛中表现出色，被评为全场最佳球员。",
        "这场比赛吸引了{fans}万名观众到现场观看。",
        "{city}马拉松将在{month}月{day}日开跑，预计有{runners}名选手参加。",
        "教练说，球队下一步要加强{training}训练。",
        "每天早上，很多老人在公园里{exercise}。",
        "{person}从小就喜欢{sport}，每周都要练习{times}次。",
        "国家队将在{month}月前往{city}参加比赛。",
        "比赛结束后，球迷们在广场上庆祝胜利。",
        "运动可以让人保持健康，也能减轻压力。",
    ]),
    ("history", [
        "{dynasty[name]}是中国历史上一个重要的朝代。",
        "{dynasty[name]}建立于{dynasty[founded]}，都城设在{dynasty[capital]}。",
        "{dynasty[name]}时期，{dynasty[event]}。",
        "博物馆里陈列着很多{dynasty[name]}的{relic}。",
        "历史学家通过研究{relic}，了解古代人们的生活。",
        "{person}是一名历史老师，最喜欢给学生讲{dynasty[name]}的故事。",
        "古代的{invention}对世界产生了深远的影响。",
        "考古队在{city}附近发现了一座古墓，出土了{relic_count}件文物。",
        "每到周末，很多家长带孩子去历史博物馆参观。",
        "这段历史告诉我们，{lesson}。",
    ]),
    ("city_life", [
        "{person}每天坐{commute}去上班，路上要花{minutes}分钟。",
        "早高峰的时候，地铁里总是挤满了人。",
        "小区门口新开了一家{shop}，生意非常好。",
        "周末，{person}喜欢和朋友一起去{leisure}。",
        "最近，{city}的房租又上涨了。",
        "晚上八点以后，夜市开始热闹起来。",
        "很多年轻人下班后会去健身房锻炼身体。",
        "社区组织志愿者{volunteer}。",
        "{city}新修了一条{km}公里长的绿道，市民可以在这里骑车散步。",
        "外卖小哥骑着电动车穿行在大街小巷。",
        "住在{district}的居民，步行十分钟就能到达地铁站。",
    ]),
    ("shopping", [
        "{person}上周在网上买了一个{goods}。",
        "快递{days}天就送到了，包装很完好。",
        "这家店的{goods}只卖{price}元，比商场便宜不少。",
        "用了一段时间以后，{person}觉得这个{goods}{quality}。",
        "商场正在举行促销活动，很多商品打{discount}折。",
        "收银员提醒顾客可以用手机支付。",
        "如果商品有质量问题，七天之内可以无理由退货。",
        "{person}把购物体验写成了评价，发到了网上。",
        "很多消费者在买东西之前都会先看看别人的评价。",
    ]),
    ("nature", [
        "{animal[name]}是一种生活在{animal[home]}里的动物。",
        "{animal[name]}主要以{animal[food]}为食。",
        "每年{winter_month}月，大批{bird}会飞到{lake}过冬。",
        "{mountain}海拔{height}米，是当地最高的山。",
        "春天来了，山上开满了{flower}。",
        "保护环境是每个人的责任。",
        "志愿者们在河边种下了{trees}棵树。",
        "森林里的空气特别清新，很多人周末来这里徒步。",
        "科学家提醒，{nature_advice}。",
    ]),
    ("people", [
        "{person}是一位{career[job]}，出生在{city}。",
        "大学毕业后，{person}进入{career[org]}工作。",
        "{person}的代表作是《{work}》，这部{career[work_kind]}深受"
        "{career[audience]}喜爱。",
        "为了创作这部作品，{person}花了整整{years}年时间。",
        "后来，{person}凭借这部作品获得了{career[award]}。",
        "在采访中，{person}说自己最感谢的人是{relative}。",
        "工作之余，{person}喜欢{hobby}。",
        "很多年轻人把{person}当作自己的榜样。",
    ]),
])

CORPUS_BANKS = {
    "city": CITIES,
    "person": PERSON_NAMES,
    "month": MONTHS,
    "day": as_text(range(1, 29)),
    "weather": ["晴朗", "多云", "阴沉", "闷热", "凉爽", "温暖", "晴转多云"],
    "rain": ["小雨", "中雨", "大雨", "雷阵雨", "阵雨"],
    "temp_low": as_text(range(0, 16)),
    "temp_high": as_text(range(18, 37)),
    "wind": as_text(range(3, 8)),
    "season_scene": ["春天经常下起绵绵细雨", "夏天又闷又热，午后常有雷阵雨",
                     "秋天天高气爽，是一年中最舒服的季节",
                     "冬天寒冷干燥，偶尔会下雪"],
    "clothing": ["外套", "毛衣", "羽绒服", "风衣", "长袖衬衫"],
    "outdoor": ["散步", "放风筝", "打太极拳", "跑步", "骑自行车", "野餐"],
    "climate": [{"month": "7", "feel": "炎热"}, {"month": "8", "feel": "闷热"},
                {"month": "1", "feel": "寒冷"}, {"month": "12", "feel": "寒冷"},
                {"month": "10", "feel": "舒适"}, {"month": "4", "feel": "舒适"}],
    "weather_advice": ["天气炎热时要多喝水，尽量不要在中午出门",
                       "早晚温差大，要注意及时添加衣服",
                       "雾天开车一定要减速慢行",
                       "大风天气尽量不要在高楼下停留"],
    "air": ["良好", "优", "不错"],
    "ticket": ["往返的高铁票", "景区的门票", "酒店的房间"],
    "transport": ["高铁", "飞机", "长途汽车", "自驾车"],
    "hours": as_text(range(2, 10)),
    "stay_place": ["火车站", "市中心", "老城区", "海边", "地铁站"],
    "sight_kind": ["古城墙", "湖边公园", "历史博物馆", "老街", "植物园",
                   "山顶的寺庙", "海滨栈道"],
    "scenery": ["美丽", "壮观", "安静", "迷人"],
    "visitors": as_text(range(50, 550, 50)),
    "dish": DISHES,
    "taste": ["好", "地道", "鲜美", "特别"],
    "street": ["步行街", "夜市", "江边", "古镇的小巷"],
    "souvenir": ["明信片", "茶叶", "手工艺品", "特产点心", "冰箱贴"],
    "money": as_text(range(1500, 8500, 500)),
    "seasoning": ["盐", "酱油", "白糖", "醋", "料酒"],
    "staple": ["米饭", "面条", "馒头", "小米粥"],
    "spicy": ["辣椒", "花椒", "辣椒油"],
    "portions": as_text([50, 80, 100, 120, 150, 200, 300]),
    "drink": ["绿茶", "酸梅汤", "豆浆", "果汁", "菊花茶"],
    "school": ["第一中学", "实验中学", "育才中学", "外国语中学", "第二中学"],
    "grade": ["初一", "初二", "初三", "高一", "高二", "高三"],
    "hour": ["7", "8"],
    "subject": ["语文", "数学", "英语", "物理", "化学", "历史", "地理", "生物",
                "音乐", "美术"],
    "teach_style": ["生动有趣", "认真细致", "很幽默", "条理清楚"],
    "class_size": as_text(range(30, 51)),
    "book_kind": ["小说", "科普书", "历史书", "漫画", "诗集"],
    "school_event": ["运动会", "科技节", "艺术节", "读书节", "合唱比赛"],
    "rank": ["一", "二", "三"],
    "sport_play": ["踢足球", "打篮球", "跳绳", "打羽毛球", "跑步"],
    "company": COMPANIES,
    "product": PRODUCTS,
    "chip": ["X1", "K9", "M3", "T800"],
    "percent": as_text(range(10, 55, 5)),
    "inch": ["6.1", "6.4", "6.7", "5.8"],
    "mah": as_text([3800, 4000, 4500, 5000, 5500]),
    "app_use": ["看视频", "听音乐", "网上购物", "学习外语", "拍照片", "导航"],
    "industry": ["医疗", "教育", "交通", "金融", "农业", "制造"],
    "device": ["手机", "笔记本电脑", "智能手表", "无线耳机", "电动汽车"],
    "base_count": as_text(range(1, 10)),
    "pay_scene": ["乘坐地铁", "在超市付款", "借共享单车", "在食堂买饭"],
    "tech_trend": ["无人驾驶汽车", "智能家居", "远程办公", "在线教育",
                   "服务机器人"],
    "tech_job": ["软件工程师", "产品经理", "测试工程师", "数据分析师",
                 "设计师"],
    "app": ["地图软件", "聊天软件", "购物软件", "音乐软件"],
    "feature": ["语音输入", "夜间模式", "离线下载", "实时翻译"],
    "sport": ["足球", "篮球", "排球", "乒乓球", "羽毛球"],
    "team": ["红星队", "飞龙队", "海鹰队", "猛虎队", "雄狮队", "蓝天队"],
    "win_score": ["3比1", "2比0", "4比2", "2比1", "1比0", "3比2"],
    "fans": as_text(range(1, 7)),
    "runners": as_text([5000, 10000, 20000, 30000]),
    "training": ["防守", "体能", "传球", "投篮"],
    "exercise": ["打太极拳", "跳广场舞", "慢跑", "练剑"],
    "times": as_text(range(2, 6)),
    "dynasty": [
        {"name": "秦朝", "founded": "公元前221年", "capital": "咸阳",
         "event": "全国统一了文字和度量衡"},
        {"name": "汉朝", "founded": "公元前202年", "capital": "长安",
         "event": "张骞出使西域，打通了丝绸之路"},
        {"name": "唐朝", "founded": "公元618年", "capital": "长安",
         "event": "长安成为当时世界上最繁华的城市之一"},
        {"name": "北宋", "founded": "公元960年", "capital": "开封",
         "event": "毕昇发明了活字印刷术"},
        {"name": "元朝", "founded": "公元1271年", "capital": "大都",
         "event": "大运河继续发挥着重要作用"},
        {"name": "明朝", "founded": "公元1368年", "capital": "南京",
         "event": "郑和率领船队七次下西洋"},
        {"name": "清朝", "founded": "公元1636年", "capital": "北京",
         "event": "学者们编成了《四库全书》"},
    ],
    "relic": ["青铜器", "瓷器", "字画", "钱币", "陶俑"],
    "invention": ["造纸术", "印刷术", "指南针", "火药"],
    "relic_count": as_text([50, 80, 120, 200, 300]),
    "lesson": ["国家的繁荣离不开开放和交流", "只有团结才能战胜困难",
               "读历史可以让人看得更远"],
    "commute": ["地铁", "公交车", "自行车", "电动车"],
    "minutes": as_text([15, 20, 30, 40, 45, 60]),
    "shop": ["面包店", "便利店", "咖啡馆", "水果店", "书店", "花店"],
    "leisure": ["看电影", "逛商场", "爬山", "打羽毛球", "喝咖啡"],
    "volunteer": ["打扫街道", "看望独居老人", "给小学生辅导功课",
                  "在路口维持交通秩序"],
    "km": as_text([5, 8, 10, 12, 15, 20]),
    "district": ["城东", "城西", "新区", "老城区", "开发区"],
    "goods": ["电饭煲", "吸尘器", "台灯", "书包", "保温杯", "电风扇",
              "蓝牙音箱", "行李箱"],
    "days": as_text(range(1, 6)),
    "price": as_text([39, 59, 99, 129, 199, 299, 399, 599]),
    "quality": ["质量很好，用起来很顺手", "做工一般，有点失望",
                "非常实用，全家人都喜欢", "声音太大，不太满意"],
    "discount": ["五", "六", "七", "八"],
    "animal": [
        {"name": "大熊猫", "home": "竹林", "food": "竹子"},
        {"name": "丹顶鹤", "home": "湿地", "food": "小鱼和水草"},
        {"name": "松鼠", "home": "森林", "food": "松子"},
        {"name": "骆驼", "home": "沙漠", "food": "耐旱的草"},
        {"name": "海豚", "home": "温暖的海洋", "food": "小鱼和虾"},
    ],
    "winter_month": ["10", "11", "12"],
    "bird": ["天鹅", "大雁", "白鹭", "野鸭"],
    "lake": ["鄱阳湖", "洞庭湖", "青海湖", "太湖"],
    "mountain": ["翠屏山", "云雾山", "青龙山", "凤凰岭"],
    "height": as_text([1200, 1500, 1860, 2100, 2450]),
    "flower": ["桃花", "杏花", "杜鹃花", "油菜花", "梨花"],
    "trees": as_text([100, 200, 500, 1000]),
    "nature_advice": ["不要随意投喂野生动物", "登山时要带走自己的垃圾",
                      "春天是很多动物繁殖的季节，要尽量保持安静"],
    "career": CAREERS,
    "work": WORKS,
    "years": as_text(range(2, 9)),
    "relative": ["自己的母亲", "自己的父亲", "中学时的语文老师", "自己的家人",
                 "大学时的导师"],
    "hobby": HOBBIES,
}

# ---------------------------------------------------------------------------
# Sentiment reviews. Each aspect lists predicates that praise or criticise it.

Aspect = collections.namedtuple("Aspect", ["name", "positive", "negative"])
ReviewDomain = collections.namedtuple(
    "ReviewDomain",
    ["subjects", "aspects", "positive_closings", "negative_closings"])

REVIEW_DOMAINS = collections.OrderedDict([
    ("hotel", ReviewDomain(
        subjects=["这家酒店", "这次入住的酒店", "车站旁边的这家宾馆",
                  "这家连锁酒店"],
        aspects=[
            Aspect("房间", ["干净整洁", "宽敞明亮", "布置得很温馨"],
                   ["又小又暗", "有一股霉味", "打扫得不干净"]),
            Aspect("床", ["很舒服", "又软又大"], ["太硬了", "一动就吱吱作响"]),
            Aspect("前台服务", ["热情周到", "非常耐心"],
                   ["态度冷淡", "办理入住慢得要命"]),
            Aspect("早餐", ["品种丰富", "味道不错"], ["种类太少", "又冷又难吃"]),
            Aspect("位置", ["很方便，离地铁站很近", "很好，出门就是商业街"],
                   ["太偏僻了，打车都很难", "不好找，绕了半天才到"]),
            Aspect("隔音", ["做得很好，晚上很安静"],
                   ["太差了，隔壁说话都听得见"]),
            Aspect("卫生间", ["很干净，热水也很足"], ["有异味，热水时有时无"]),
            Aspect("Wi-Fi", ["信号很稳定", "速度很快"], ["经常断线", "慢得没法用"]),
        ],
        positive_closings=["下次还会再来", "强烈推荐", "非常满意", "性价比很高",
                           "住得很开心"],
        negative_closings=["再也不会住了", "不推荐", "太失望了", "一点都不值",
                           "住得很糟心"])),
    ("restaurant", ReviewDomain(
        subjects=["这家餐厅", "朋友推荐的这家店", "公司楼下的这家饭馆",
                  "这家火锅店"],
        aspects=[
            Aspect("菜", ["味道地道", "分量很足", "新鲜好吃"],
                   ["又咸又油", "分量少得可怜", "一点都不新鲜"]),
            Aspect("服务员", ["态度热情", "上菜很快"],
                   ["爱理不理", "上菜慢得让人着急"]),
            Aspect("环境", ["安静雅致", "干净舒适"], ["又吵又挤", "桌子油乎乎的"]),
            Aspect("价格", ["很实惠", "公道合理"], ["贵得离谱", "明显偏高"]),
            Aspect("甜品", ["精致可口", "甜而不腻"], ["甜得发齁", "像是隔夜的"]),
        ],
        positive_closings=["下次还会再来", "强烈推荐", "吃得很满意", "五星好评",
                           "值得一试"],
        negative_closings=["再也不会来了", "不推荐", "太失望了", "差评",
                           "花钱买罪受"])),
    ("product", ReviewDomain(
        subjects=["这款手机", "新买的笔记本电脑", "这款平板电脑",
                  "这块智能手表"],
        aspects=[
            Aspect("屏幕", ["清晰细腻", "色彩鲜艳"], ["发黄", "有好几个坏点"]),
            Aspect("电池", ["很耐用，一天一充就够", "续航很强"],
                   ["掉电太快", "用半天就没电了"]),
            Aspect("运行速度", ["很快，一点都不卡"], ["很慢，经常卡死"]),
            Aspect("做工", ["精致", "扎实，手感很好"], ["粗糙", "很廉价"]),
            Aspect("物流", ["很快，第二天就到了"], ["太慢了，等了一个星期"]),
            Aspect("客服", ["回复及时，很专业"], ["一问三不知", "半天不回消息"]),
        ],
        positive_closings=["物超所值", "值得购买", "非常满意", "强烈推荐",
                           "五星好评"],
        negative_closings=["后悔买了", "浪费钱", "不推荐", "太失望了",
                           "已经申请退货"])),
    ("book", ReviewDomain(
        subjects=["这本书", "这套丛书", "孩子的这本绘本"],
        aspects=[
            Aspect("内容", ["精彩", "很有深度", "生动有趣"],
                   ["空洞无聊", "东拼西凑"]),
            Aspect("印刷", ["清晰", "很精美"], ["模糊不清", "错别字很多"]),
            Aspect("纸张", ["厚实", "手感很好"], ["又薄又脆", "有刺鼻的气味"]),
            Aspect("包装", ["完好无损", "很用心"], ["破损严重", "很简陋"]),
        ],
        positive_closings=["值得一读", "强烈推荐", "非常满意", "物超所值"],
        negative_closings=["不值这个价", "不推荐", "太失望了", "浪费钱"])),
])

# Words that turn a review around; the clause after them decides the label.
TURNS = {1: ["但是", "但是", "不过", "好在"], 0: ["但是", "但是", "不过", "可惜"]}

# ---------------------------------------------------------------------------
# Reading comprehension paragraphs. Each kind has a title, a context template
# and questions naming the slot (or "slot[key]") that holds their answer.

MrcKind = collections.namedtuple("MrcKind", ["title", "context", "questions"])

MRC_KINDS = collections.OrderedDict([
    ("biography", MrcKind(
        title="{name}",
        context=("{name}，{birth_year}出生于{birth_city}，中国{career[job]}。"
                 "{pron}毕业于{university}{major}系，毕业后在家乡当过几年中学"
                 "老师。{join_year}，{pron}加入{career[org]}，后来担任"
                 "{career[position]}。{pron}的代表作是{career[work_kind]}"
                 "《{work}》，这部作品在{award_year}获得了{career[award]}，深受"
                 "{career[audience]}喜爱。目前，{pron}定居在{home_city}，业余"
                 "时间喜欢{hobby}。"),
        questions=[
            ("{name}出生于哪一年？", "birth_year"),
            ("{name}是在哪个城市出生的？", "birth_city"),
            ("{name}毕业于哪所大学？", "university"),
            ("{name}在大学读的是哪个系？", "major"),
            ("{name}在{join_year}加入了哪个单位？", "career[org]"),
            ("{name}在{career[org]}担任什么职务？", "career[position]"),
            ("{name}的代表作叫什么名字？", "work"),
            ("《{work}》在{award_year}获得了什么奖项？", "career[award]"),
            ("《{work}》是哪一年获奖的？", "award_year"),
            ("{name}现在定居在哪个城市？", "home_city"),
            ("{name}业余时间有什么爱好？", "hobby"),
            ("《{work}》的作者是谁？", "name"),
        ])),
    ("company", MrcKind(
        title="{company}",
        context=("{company}是一家总部位于{hq_city}的科技公司，由{founder}于"
                 "{found_year}创立，主要生产{category}、{category2}等电子产品。"
                 "{release_year}，{company}推出了新款{category}{product}，首发"
                 "售价为{price}。这款产品配备了{screen}的屏幕，电池容量为"
                 "{battery}，重量仅为{weight}。截至{count_year}底，{company}在"
                 "全球共有员工{staff}，产品销往{markets}。"),
        questions=[
            ("{company}的总部在哪个城市？", "hq_city"),
            ("{company}是由谁创立的？", "founder"),
            ("{company}成立于哪一年？", "found_year"),
            ("{company}在{release_year}推出了哪款{category}？", "product"),
            ("{product}的首发售价是多少？", "price"),
            ("{product}的屏幕有多大？", "screen"),
            ("{product}的电池容量是多少？", "battery"),
            ("{product}有多重？", "weight"),
            ("截至{count_year}底，{company}共有多少名员工？", "staff"),
            ("{company}的产品销往哪里？", "markets"),
        ])),
    ("town", MrcKind(
        title="{town}",
        context=("{town}位于{province}{direction}部，面积约{area}，常住人口约"
                 "{population}。这里属于{climate}气候，四季分明。当地最有名的"
                 "景点是{sight}，每年{festival_month}都会举办{festival}，吸引"
                 "大量游客前来。{town}的特色美食是{local_food}，很多游客专门为"
                 "它而来。从{big_city}坐高铁到{town}只需要{travel_time}。"),
        questions=[
            ("{town}位于哪个省？", "province"),
            ("{town}的面积大约有多大？", "area"),
            ("{town}的常住人口大约有多少？", "population"),
            ("{town}属于什么气候？", "climate"),
            ("{town}最有名的景点是哪里？", "sight"),
            ("{town}每年{festival_month}会举办什么活动？", "festival"),
            ("{festival}在每年几月举办？", "festival_month"),
            ("{town}有什么特色美食？", "local_food"),
            ("从{big_city}坐高铁到{town}需要多长时间？", "travel_time"),
        ])),
    ("marathon", MrcKind(
        title="{race_year}{race_city}马拉松",
        context=("{race_year}{race_city}马拉松于{race_date}鸣枪开跑，共有"
                 "{runners}选手参加。男子全程冠军是来自{winner_city}的{winner}，"
                 "成绩为{men_time}。女子全程冠军由{winner2}获得，她的成绩是"
                 "{women_time}。本次比赛的起点设在{start_place}，终点设在"
                 "{finish_place}。赛事组委会表示，明年的参赛名额将增加到"
                 "{next_runners}个。"),
        questions=[
            ("{race_year}{race_city}马拉松是哪一天开跑的？", "race_date"),
            ("有多少名选手参加了{race_year}{race_city}马拉松？", "runners"),
            ("男子全程冠军是谁？", "winner"),
            ("男子全程冠军来自哪里？", "winner_city"),
            ("{winner}的成绩是多少？", "men_time"),
            ("女子全程冠军是谁？", "winner2"),
            ("{winner2}跑出了什么成绩？", "women_time"),
            ("比赛的起点设在哪里？", "start_place"),
            ("比赛的终点设在哪里？", "finish_place"),
            ("明年的参赛名额将增加到多少个？", "next_runners"),
        ])),
])

TOWN_PREFIXES = ("青石", "云溪", "白沙", "桃源", "落霞", "清河", "枫林", "望江",
                 "金滩", "松岭")
SIGHT_PREFIXES = ("翠屏", "月牙", "卧龙", "飞云", "仙女", "碧水", "天池", "石门")

MRC_BANKS = {
    "name": PERSON_NAMES,
    "winner": PERSON_NAMES,
    "founder": PERSON_NAMES,
    "pron": ["他", "她"],
    "city": CITIES,
    "birth_year": with_unit(range(1955, 1991), "年"),
    "join_year": with_unit(range(1995, 2013), "年"),
    "award_year": with_unit(range(2013, 2024), "年"),
    "university": ["明远大学", "东岳师范大学", "滨江理工大学", "南山艺术学院",
                   "长风大学", "青云大学", "北湖大学"],
    "major": ["中文", "历史", "电影", "音乐", "美术", "新闻", "哲学", "建筑"],
    "career": CAREERS,
    "work": WORKS,
    "hobby": HOBBIES,
    "company": COMPANIES,
    "found_year": with_unit(range(1998, 2013), "年"),
    "release_year": with_unit(range(2015, 2021), "年"),
    "count_year": with_unit(range(2021, 2024), "年"),
    "category": DEVICE_CATEGORIES,
    "product": PRODUCTS,
    "price": with_unit([999, 1299, 1599, 1999, 2499, 2999, 3499, 3999, 4999,
                        5999], "元"),
    "screen": with_unit(["5.8", "6.1", "6.4", "6.7", "10.9", "13.3"], "英寸"),
    "battery": with_unit([3800, 4000, 4500, 5000, 5500, 8000], "毫安时"),
    "weight": with_unit([168, 175, 182, 189, 195, 203, 210, 226], "克"),
    "staff": with_unit([800, 1200, 1500, 2300, 3600, 4800, 6500], "人"),
    "markets": ["30多个国家和地区", "东南亚和欧洲", "全国各地",
                "五大洲的60多个国家"],
    "town": [prefix + suffix for prefix in TOWN_PREFIXES
             for suffix in ("镇", "县", "市")],
    "province": ["浙江省", "四川省", "湖南省", "福建省", "江西省", "云南省",
                 "广东省", "安徽省", "湖北省", "山东省"],
    "direction": ["东", "南", "西", "北", "东北", "西南", "东南", "西北"],
    "area": with_unit([320, 560, 780, 1150, 1600, 2300], "平方公里"),
    "population": [Phrase("%d万人" % number, ["%d万" % number])
                   for number in (12, 18, 25, 36, 48, 65)],
    "climate": ["亚热带季风", "温带季风", "高原山地", "海洋性"],
    "sight": [prefix + suffix for prefix in SIGHT_PREFIXES
              for suffix in ("山", "湖", "古镇", "瀑布", "峡谷")],
    "festival": ["桃花节", "龙舟赛", "元宵灯会", "美食节", "音乐节", "风筝节",
                 "丰收节"],
    "festival_month": with_unit(range(1, 13), "月"),
    "local_food": ["酸汤鱼", "竹筒饭", "米粉", "烤鱼", "豆腐花", "桂花糕",
                   "牛肉面"],
    "travel_time": ["一个半小时", "两个小时", "四十分钟", "三个小时",
                    "一小时二十分钟"],
    "race_year": with_unit(range(2015, 2024), "年"),
    "race_date": ["%d月%d日" % (month, day)
                  for month, day in ((3, 19), (4, 9), (10, 15), (10, 29),
                                     (11, 5), (11, 26), (12, 3))],
    "runners": with_unit([8000, 10000, 12000, 15000, 18000, 20000], "名"),
    "men_time": ["2小时%02d分%02d秒" % (minutes, seconds)
                 for minutes, seconds in ((8, 31), (9, 5), (10, 47), (11, 12),
                                          (12, 58), (14, 20))],
    "women_time": ["2小时%02d分%02d秒" % (minutes, seconds)
                   for minutes, seconds in ((24, 16), (26, 3), (27, 49),
                                            (29, 35), (31, 8), (33, 41))],
    "start_place": ["人民广场", "奥体中心", "世纪公园", "市政府广场",
                    "滨江公园"],
    "finish_place": ["体育中心", "会展中心", "湖滨公园", "大学城"],
    "next_runners": as_text([25000, 32000, 35000, 40000]),
}


# ---------------------------------------------------------------------------
# Template filling.

def template_fields(template):
    """Returns the field names of `template` ("city", "career[org]", ...)."""
    return [field for _, field, _, _ in _FORMATTER.parse(template)
            if field is not None]


def field_root(field):
    """Returns the slot a field reads: "career[org]" -> "career"."""
    return field.split("[", 1)[0]


def bank_name(slot, banks):
    """Returns the bank a slot draws from.

    A slot uses the bank of its own name if there is one; otherwise trailing
    digits are dropped ("city2" -> "city"), and then everything up to the
    last underscore ("home_city" -> "city").

    Raises:
        KeyError: If no bank matches.
    """
    candidates = (slot, slot.rstrip(string.digits), slot.split("_")[-1])
    for candidate in candidates:
        if candidate in banks:
            return candidate
    raise KeyError("Template slot {%s} has no word bank (tried %s)." %
                   (slot, ", ".join(sorted(set(candidates)))))


def check_templates(templates, banks):
    """Raises KeyError naming the first template slot without a bank."""
    for template in templates:
        for field in template_fields(template):
            bank_name(field_root(field), banks)


class SlotFiller(object):
    """Chooses slot values for one document or paragraph.

    Every slot keeps its value once chosen; slots that draw from the same bank
    get different values.
    """

    def __init__(self, rng, banks):
        """Creates an empty filler.

        Args:
            rng: The `random.Random` to draw with.
            banks: Dict bank name -> list of values (strings or dicts).
        """
        self._rng = rng
        self._banks = banks
        self.values = {}
        self._used = collections.defaultdict(list)

    def value(self, slot):
        """Returns the value of `slot`, choosing it on first use."""
        if slot not in self.values:
            bank = bank_name(slot, self._banks)
            unused = [value for value in self._banks[bank]
                      if value not in self._used[bank]]
            if not unused:
                raise ValueError("Word bank %r has too few values for the "
                                 "slots of one template set." % bank)
            choice = self._rng.choice(unused)
            self._used[bank].append(choice)
            self.values[slot] = choice
        return self.values[slot]

    def resolve(self, field):
        """Returns the text of a field such as "city" or "career[org]"."""
        self.value(field_root(field))
        return _FORMATTER.get_field(field, (), self.values)[0]

    def fill(self, template):
        """Returns `template` with every field replaced by its value."""
        text, _ = self.fill_with_offsets(template)
        return text

    def fill_with_offsets(self, template):
        """Fills `template` and records where each field first appears.

        Returns:
            (text, offsets): the filled text and a dict field -> character
            offset of the field's first occurrence in the text.
        """
        pieces = []
        offsets = {}
        length = 0
        for literal, field, _, _ in _FORMATTER.parse(template):
            pieces.append(literal)
            length += len(literal)
            if field is None:
                continue
            value = self.resolve(field)
            offsets.setdefault(field, length)
            pieces.append(value)
            length += len(value)
        return "".join(pieces), offsets


def draw_unique(rng, make_item, key, count, seen, what):
    """Calls `make_item(rng)` until `count` items with new keys are found.

    Args:
        rng: The `random.Random` passed to `make_item`.
        make_item: Function rng -> item.
        key: Function item -> hashable identity (e.g. the text).
        count: How many items to return.
        seen: Set of keys already taken; updated in place.
        what: Description used in the error message.

    Returns:
        A list of `count` items.

    Raises:
        ValueError: If the templates cannot produce enough distinct items.
    """
    items = []
    attempts = 0
    while len(items) < count:
        attempts += 1
        if attempts > MAX_DRAWS_PER_ITEM * count:
            raise ValueError("Could only generate %d distinct %s of %d "
                             "requested: add templates or word-bank values." %
                             (len(items), what, count))
        item = make_item(rng)
        if key(item) not in seen:
            seen.add(key(item))
            items.append(item)
    return items


# ---------------------------------------------------------------------------
# The three data sets.

def make_document(rng, templates):
    """Returns a document: 3-8 filled templates of one topic, in order."""
    count = rng.randint(MIN_SENTENCES, min(MAX_SENTENCES, len(templates)))
    chosen = sorted(rng.sample(range(len(templates)), count))
    filler = SlotFiller(rng, CORPUS_BANKS)
    return [filler.fill(templates[index]) for index in chosen]


def make_corpus(rng, num_documents):
    """Returns `num_documents` documents (lists of sentences), topics mixed.

    Topics take turns so that each gets the same share, then the documents
    are shuffled.
    """
    topics = list(CORPUS_TOPICS.values())
    documents = [make_document(rng, topics[index % len(topics)])
                 for index in range(num_documents)]
    rng.shuffle(documents)
    return documents


def aspect_clauses(rng, domain, label, count, exclude=()):
    """Returns (clauses, aspect names) praising (1) or criticising (0)."""
    aspects = rng.sample([aspect for aspect in domain.aspects
                          if aspect.name not in exclude], count)
    clauses = [aspect.name + rng.choice(aspect.positive if label
                                        else aspect.negative)
               for aspect in aspects]
    return clauses, [aspect.name for aspect in aspects]


def closing(rng, domain, label):
    """Returns a closing remark of the given polarity."""
    return rng.choice(domain.positive_closings if label
                      else domain.negative_closings)


def plain_review(rng, domain, label):
    """Returns a review whose every clause has the polarity `label`."""
    clauses, _ = aspect_clauses(rng, domain, label, rng.randint(1, 3))
    subject = rng.choice(domain.subjects)
    ending = closing(rng, domain, label)
    return "%s的%s，%s" % (subject, "，".join(clauses), ending)


def turning_review(rng, domain, label):
    """Returns a review that opens with the opposite polarity and turns.

    For example "虽然这家酒店的房间又小又暗，但是前台服务热情周到。" is
    positive: the clause after the turning word decides the label.
    """
    opening, names = aspect_clauses(rng, domain, 1 - label,
                                    rng.randint(1, 2))
    final, _ = aspect_clauses(rng, domain, label, 1, exclude=names)
    subject = rng.choice(domain.subjects)
    concession = rng.choice(["虽然", ""])
    turn = rng.choice(TURNS[label])
    text = "%s%s的%s，%s%s" % (concession, subject, "，".join(opening), turn,
                             final[0])
    if rng.random() < 0.5:
        text += "，" + closing(rng, domain, label)
    return text


def make_review(rng, label):
    """Returns the text of one review with the given label (1 = positive)."""
    domain = rng.choice(list(REVIEW_DOMAINS.values()))
    if rng.random() < MIXED_REVIEW_RATE:
        text = turning_review(rng, domain, label)
    else:
        text = plain_review(rng, domain, label)
    return text + rng.choice(["。", "。", "！"])


def make_sentiment(rng):
    """Returns {"train": rows, "dev": rows}, rows being (label, text).

    Both splits are balanced, and no text occurs twice in either or both.
    """
    seen = set()
    splits = {split: [] for split in REVIEWS_PER_LABEL}
    for label in (0, 1):
        total = sum(REVIEWS_PER_LABEL.values())
        texts = draw_unique(rng, functools.partial(make_review, label=label),
                            lambda text: text, total, seen,
                            "reviews with label %d" % label)
        start = 0
        for split in sorted(REVIEWS_PER_LABEL):
            end = start + REVIEWS_PER_LABEL[split]
            splits[split].extend((label, text) for text in texts[start:end])
            start = end
    for split in sorted(splits):
        rng.shuffle(splits[split])
    return splits


def reference_answers(rng, text, start, count):
    """Returns `count` reference answers for the span `text` at `start`.

    The first is the span itself; the others are drawn from the span and the
    shorter variants its `Phrase` allows (annotators often agree exactly).
    """
    choices = [{"text": str(text), "answer_start": start}]
    for variant in getattr(text, "variants", ()):
        choices.append({"text": variant,
                        "answer_start": start + text.index(variant)})
    return [choices[0]] + [dict(rng.choice(choices))
                           for _ in range(count - 1)]


def make_paragraph(rng, kind, num_references):
    """Returns (title, context, [(question, answers)]) for one paragraph.

    Args:
        rng: The `random.Random` to draw with.
        kind: The `MrcKind` to fill.
        num_references: Function rng -> number of reference answers.
    """
    filler = SlotFiller(rng, MRC_BANKS)
    context, offsets = filler.fill_with_offsets(kind.context)
    chosen = sorted(rng.sample(range(len(kind.questions)),
                               QUESTIONS_PER_PARAGRAPH))
    questions = []
    for index in chosen:
        question, field = kind.questions[index]
        answer = filler.resolve(field)
        answers = reference_answers(rng, answer, offsets[field],
                                    num_references(rng))
        questions.append((filler.fill(question), answers))
    return filler.fill(kind.title), context, questions


def mrc_dataset(paragraphs, prefix):
    """Wraps paragraphs in the CMRC 2018 JSON structure."""
    data = []
    for index, (title, context, questions) in enumerate(paragraphs):
        paragraph_id = "%s_%d" % (prefix, index)
        qas = [{"question": question,
                "id": "%s_QUERY_%d" % (paragraph_id, number),
                "answers": answers}
               for number, (question, answers) in enumerate(questions)]
        data.append({"paragraphs": [{"id": paragraph_id, "context": context,
                                     "qas": qas}],
                     "id": paragraph_id, "title": title})
    return {"version": "demo-v1.0", "data": data}


def make_mrc(rng):
    """Returns {"train": dataset, "dev": dataset} in CMRC 2018 format.

    Paragraph kinds take turns; no context occurs in both splits. Training
    questions have one answer, dev questions one to three.
    """
    kinds = list(MRC_KINDS.values())
    references = {"train": lambda r: 1,
                  "dev": lambda r: r.randint(1, MAX_DEV_REFERENCES)}
    seen = set()
    datasets = {}
    for split in ("train", "dev"):
        paragraphs = []
        for index in range(MRC_PARAGRAPHS[split]):
            make_item = functools.partial(
                make_paragraph, kind=kinds[index % len(kinds)],
                num_references=references[split])
            paragraphs.extend(draw_unique(
                rng, make_item, lambda paragraph: paragraph[1], 1, seen,
                "%s paragraphs" % split))
        datasets[split] = mrc_dataset(paragraphs, "DEMO_%s" % split.upper())
    return datasets


# ---------------------------------------------------------------------------
# Vocabulary.

def mrc_texts(dataset):
    """Yields every title, context, question and answer of a dataset."""
    for article in dataset["data"]:
        yield article["title"]
        for paragraph in article["paragraphs"]:
            yield paragraph["context"]
            for qa in paragraph["qas"]:
                yield qa["question"]
                for answer in qa["answers"]:
                    yield answer["text"]


def build_vocab(texts):
    """Returns a WordPiece vocabulary (list of tokens) covering `texts`.

    Order: the special tokens ([PAD] = 0, [UNK], [CLS], [SEP], [MASK]); every
    character of the lower-cased texts plus a-z and 0-9, by code point;
    "##"-pieces of a-z and 0-9, so that any lower-cased Latin word or number
    can be spelled; then each multi-character word (Latin words, numbers)
    found in the texts.
    """
    basic_tokenizer = tokenization.BasicTokenizer(do_lower_case=True)
    characters = set(SPELLING_CHARACTERS)
    words = set()
    for text in texts:
        for token in basic_tokenizer.tokenize(text):
            characters.update(token)
            if len(token) > 1:
                words.add(token)
    pieces = ["##" + char for char in SPELLING_CHARACTERS]
    return list(SPECIAL_TOKENS) + sorted(characters) + pieces + sorted(words)


# ---------------------------------------------------------------------------
# Named entities: sentences with people (PER), places (LOC) and companies
# (ORG) from the shared banks, one character and its BIO tag per line.

NER_SENTENCES = {"train": 300, "dev": 60}
NER_TEMPLATES = (
    "{PER}在{LOC}的{ORG}工作。",
    "{ORG}在{LOC}开了一家新店。",
    "{PER}和{PER}一起去{LOC}旅行。",
    "来自{LOC}的{PER}加入了{ORG}。",
    "{PER}说{ORG}的新产品很好用。",
    "今年{PER}从{LOC}回到了{LOC}。",
    "{ORG}的员工{PER}住在{LOC}。",
    "我们在{LOC}见到了{PER}。",
    "这家公司叫{ORG}，总部在{LOC}。",
    "{PER}喜欢{LOC}的天气。",
)
NER_BANKS = {"PER": PERSON_NAMES, "LOC": CITIES, "ORG": COMPANIES}
NER_SLOT = re.compile(r"\{(PER|LOC|ORG)\}")


def tagged_sentence(rng, template, banks):
    """Fills a template from `banks`; returns [(character, BIO tag)]."""
    pairs, position = [], 0
    for match in NER_SLOT.finditer(template):
        pairs.extend((c, "O") for c in template[position:match.start()])
        kind = match.group(1)
        entity = rng.choice(banks[kind])
        pairs.extend((c, ("B-" if i == 0 else "I-") + kind)
                     for i, c in enumerate(entity))
        position = match.end()
    pairs.extend((c, "O") for c in template[position:])
    return pairs


def make_ner(rng, vocab):
    """{"train", "dev"}: lists of tagged sentences, no sentence in both.

    Only entities whose characters are all in `vocab` are drawn, so the
    NER files add nothing to the vocabulary of the other demo data.
    """
    known = set(vocab)
    banks = {kind: [e for e in bank if set(e) <= known]
             for kind, bank in NER_BANKS.items()}
    seen = set()
    splits = {}
    for split in ("train", "dev"):
        splits[split] = draw_unique(
            rng, lambda r: tagged_sentence(r, r.choice(NER_TEMPLATES),
                                           banks),
            lambda pairs: "".join(c for c, _ in pairs),
            NER_SENTENCES[split], seen, "NER sentence")
    return splits


def check_ner_characters(ner, vocab):
    """Raises ValueError for a NER character the vocabulary lacks (the NER
    files reuse the other data's characters, so the vocabulary and the
    demo configs stay as they are)."""
    known = set(vocab)
    missing = sorted(set(c for split in ner.values() for pairs in split
                         for c, _ in pairs) - known)
    if missing:
        raise ValueError("NER templates use characters outside the demo "
                         "vocabulary: %s" % "".join(missing))


# ---------------------------------------------------------------------------
# Writing.

def corpus_text(documents):
    """Formats documents: one sentence per line, blank line between them."""
    return "\n\n".join("\n".join(document) for document in documents) + "\n"


def sentiment_text(rows):
    """Formats (label, text) rows as a ChnSentiCorp TSV with header."""
    lines = ["label\ttext_a"]
    lines.extend("%d\t%s" % (label, text) for label, text in rows)
    return "\n".join(lines) + "\n"


def ner_text(sentences):
    """Formats tagged sentences: `char tag` lines, blank line between."""
    return "".join("".join("%s %s\n" % pair for pair in pairs) + "\n"
                   for pairs in sentences)


def json_text(dataset):
    """Formats a dataset as indented UTF-8 JSON."""
    return json.dumps(dataset, ensure_ascii=False, indent=1) + "\n"


README_HEADER = """# Demo data (generated, do not edit)

Synthetic Chinese data for `scripts/demo.sh`, written by
`scripts/make_demo_data.py --random_seed={seed}` from hand-written templates
and word banks; nothing here is copied from a public data set. People,
companies, products, towns and sights are invented (cities, provinces and
dynasties are real). Regenerate with `python scripts/make_demo_data.py`; the
output is byte-identical.

| file | content |
|---|---|
"""
README_ROWS = (
    ("`corpus.txt`",
     "pretraining text, one sentence per line, blank line between "
     "documents: {documents} documents, {sentences} sentences"),
    ("`sentiment/train.tsv`, `sentiment/dev.tsv`",
     "reviews in the ChnSentiCorp layout (`label<TAB>text_a`, 1 = "
     "positive): {train_reviews} / {dev_reviews} rows, half of each label"),
    ("`mrc/train.json`, `mrc/dev.json`",
     "CMRC 2018 format: {train_questions} / {dev_questions} questions over "
     "{train_paragraphs} / {dev_paragraphs} paragraphs; dev questions have "
     "1-3 reference answers"),
    ("`ner/train.txt`, `ner/dev.txt`",
     "named entities in the People's Daily layout (one character and its "
     "BIO tag per line, space-separated, blank line between sentences; "
     "PER, LOC, ORG): {train_ner} / {dev_ner} sentences"),
    ("`vocab.txt`",
     "WordPiece vocabulary of {vocab_size} entries: `[PAD]` `[UNK]` `[CLS]` "
     "`[SEP]` `[MASK]` (ids 0-4), every character of the data, `##a`-`##z`, "
     "`##0`-`##9`, and the Latin words and numbers used; "
     "`config/demo_teacher.json` and `config/demo_student.json` use this "
     "vocabulary size"),
)


def count_questions(dataset):
    """Returns the number of questions of a CMRC 2018 style dataset."""
    return sum(len(paragraph["qas"]) for article in dataset["data"]
               for paragraph in article["paragraphs"])


def readme_text(documents, sentiment, mrc, ner, vocab_size, seed):
    """Returns the README describing the generated files."""
    template = README_HEADER + "".join(
        "| %s | %s |\n" % row for row in README_ROWS)
    return template.format(
        seed=seed,
        documents=len(documents),
        sentences=sum(len(document) for document in documents),
        train_reviews=len(sentiment["train"]),
        dev_reviews=len(sentiment["dev"]),
        train_questions=count_questions(mrc["train"]),
        dev_questions=count_questions(mrc["dev"]),
        train_paragraphs=len(mrc["train"]["data"]),
        dev_paragraphs=len(mrc["dev"]["data"]),
        train_ner=len(ner["train"]),
        dev_ner=len(ner["dev"]),
        vocab_size=vocab_size)


def write_text(path, text):
    """Writes `text` to `path` as UTF-8 with "\\n" line ends."""
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "wb") as writer:
        writer.write(text.encode("utf-8"))


def generate_files(seed):
    """Generates every demo file.

    Args:
        seed: Random seed; each data set draws from its own stream.

    Returns:
        An ordered dict relative path -> file content (str).
    """
    check_templates([template for templates in CORPUS_TOPICS.values()
                     for template in templates], CORPUS_BANKS)
    check_templates([template for kind in MRC_KINDS.values()
                     for template in [kind.title, kind.context] +
                     [question for question, _ in kind.questions]],
                    MRC_BANKS)
    documents = make_corpus(random.Random("%d-corpus" % seed), NUM_DOCUMENTS)
    sentiment = make_sentiment(random.Random("%d-sentiment" % seed))
    mrc = make_mrc(random.Random("%d-mrc" % seed))

    texts = [sentence for document in documents for sentence in document]
    for split in ("train", "dev"):
        texts.extend(text for _, text in sentiment[split])
        texts.extend(mrc_texts(mrc[split]))

    files = collections.OrderedDict()
    files["corpus.txt"] = corpus_text(documents)
    for split in ("train", "dev"):
        files["sentiment/%s.tsv" % split] = sentiment_text(sentiment[split])
    for split in ("train", "dev"):
        files["mrc/%s.json" % split] = json_text(mrc[split])
    vocab = build_vocab(texts)
    ner = make_ner(random.Random("%d-ner" % seed), vocab)
    check_ner_characters(ner, vocab)
    for split in ("train", "dev"):
        files["ner/%s.txt" % split] = ner_text(ner[split])
    files["vocab.txt"] = "\n".join(vocab) + "\n"
    files["README.md"] = readme_text(documents, sentiment, mrc, ner,
                                     len(vocab), seed)
    return files


def write_demo_data(output_dir, seed=DEFAULT_SEED):
    """Generates the demo files and writes them under `output_dir`.

    Returns:
        The ordered dict relative path -> content that was written.
    """
    files = generate_files(seed)
    for relative_path, text in files.items():
        write_text(os.path.join(output_dir, relative_path), text)
    return files


def main(argv):
    """Writes the demo files and logs their sizes."""
    del argv  # Unused.
    files = write_demo_data(FLAGS.output_dir, FLAGS.random_seed)
    total_bytes = 0
    for relative_path, text in files.items():
        size = len(text.encode("utf-8"))
        total_bytes += size
        logging.info("Wrote %s (%d lines, %d bytes).",
                     os.path.join(FLAGS.output_dir, relative_path),
                     text.count("\n"), size)
    logging.info("Vocabulary size: %d. All files: %d bytes.",
                 files["vocab.txt"].count("\n"), total_bytes)


def define_flags():
    """Defines the command-line flags."""
    flags.DEFINE_string("output_dir", DEFAULT_OUTPUT_DIR,
                        "Directory to write the demo data into.")
    flags.DEFINE_integer("random_seed", DEFAULT_SEED,
                         "Seed of the generator; the committed files use the "
                         "default.")


FLAGS = flags.FLAGS

if __name__ == "__main__":
    define_flags()
    app.run(main)
