import type { Rng } from './prng.js';

/**
 * Comment texts in Chinese and English with a known sentiment, written here as templates so the
 * demo needs no data files. `{p}` is replaced by a product name. Sentiment analysis is checked
 * against these labels.
 */

export type Sentiment = 'positive' | 'negative' | 'neutral';
export type Language = 'zh' | 'en';

const TEMPLATES: Record<Language, Record<Sentiment, readonly string[]>> = {
  zh: {
    positive: [
      '{p}真的好喝，已经回购第三次了！',
      '包装很精致，送人很有面子',
      '冷泡出来清清爽爽，夏天必备',
      '茶香很正，性价比很高',
      '讲得好专业，学到了',
      '已下单，期待到货～',
      '喝了一个月，下午不犯困了',
      '{p}的回甘太绝了',
      '终于找到不苦的绿茶了，爱了',
      '给爸妈买的{p}，他们说比以前喝的好',
    ],
    negative: [
      '收到的{p}有点受潮，体验很差',
      '物流太慢了，等了一周还没到',
      '价格比直播间贵，不划算',
      '味道很一般，没有视频里说的那么好',
      '客服半天不回复，差评',
      '包装破损，茶叶撒了一地',
      '喝完胃不舒服，已经申请退款',
      '广告太多了，取关了',
      '{p}和描述不符，很失望',
    ],
    neutral: [
      '请问{p}适合冷泡吗？',
      '这个和普通绿茶有什么区别？',
      '什么时候有活动？',
      '链接在哪里？',
      '{p}保质期多久？',
      '每天喝几杯合适？',
      '收藏了，回头试试',
      '水温要多少度？',
    ],
  },
  en: {
    positive: [
      'The {p} is amazing, already ordered again!',
      'Beautiful packaging, perfect as a gift.',
      'Cold brew came out so refreshing, love it.',
      'Great value for the quality.',
      'Finally a green tea that is not bitter.',
    ],
    negative: [
      'My {p} arrived damp, really disappointed.',
      'Shipping took forever.',
      'Tastes bland, nothing like the video.',
      'Customer service never replied, not buying again.',
      'The box was crushed and half the leaves spilled.',
    ],
    neutral: [
      'Does the {p} work for cold brew?',
      'How long does it keep once opened?',
      'When is the next sale?',
      'Do you ship outside China?',
      'What water temperature do you recommend?',
    ],
  },
};

const ZH_ENDINGS = ['', '', '', '！', '～', ' 🍵', ' 👍'];

export interface CommentText {
  text: string;
  /** -1 (most negative) … 1 (most positive). */
  score: number;
}

/** A comment of the given language and sentiment about a product. */
export function commentText(
  rng: Rng,
  language: Language,
  sentiment: Sentiment,
  product: { name: string; nameZh: string },
): CommentText {
  const template = rng.pick(TEMPLATES[language][sentiment]);
  let text = template.replace('{p}', language === 'zh' ? product.nameZh : product.name);
  if (language === 'zh' && sentiment === 'positive') text += rng.pick(ZH_ENDINGS);
  const score =
    sentiment === 'positive'
      ? rng.uniform(0.55, 0.98)
      : sentiment === 'negative'
        ? rng.uniform(-0.95, -0.5)
        : rng.uniform(-0.15, 0.2);
  return { text, score: Math.round(score * 1000) / 1000 };
}

const ZH_NICK_HEADS = ['爱喝茶的', '小', '阿', '快乐的', '不加糖的', '早起的', '佛系', '江南', '北漂'];
const ZH_NICK_TAILS = ['猫', '鱼', '茶客', '兔子', '桃子', '小王', '阿杰', '木木', '青柠', '喵喵'];
const EN_NICK_HEADS = ['tea', 'leaf', 'matcha', 'oolong', 'misty', 'jade'];
const EN_NICK_TAILS = ['lover', 'fan', 'cat', 'walker', 'sipper', 'fox'];

/** A platform nickname in the person's language. */
export function nickname(rng: Rng, language: Language): string {
  if (language === 'en') return `${rng.pick(EN_NICK_HEADS)}_${rng.pick(EN_NICK_TAILS)}${rng.int(1000)}`;
  const suffix = rng.chance(0.4) ? String(rng.int(10000)) : '';
  return `${rng.pick(ZH_NICK_HEADS)}${rng.pick(ZH_NICK_TAILS)}${suffix}`;
}
