import { type KindSpec, missing, num, setIf, text } from './types.js';

const SENTIMENTS: Record<string, string> = {
  positive: 'positive',
  正面: 'positive',
  积极: 'positive',
  negative: 'negative',
  负面: 'negative',
  消极: 'negative',
  neutral: 'neutral',
  中性: 'neutral',
};

/** Comments on posts: one row per comment. */
export const comments: KindSpec = {
  kind: 'comments',
  table: 'comments',
  en: 'comments',
  zh: '评论',
  fields: {
    platform: { type: 'text', required: true, en: 'platform', zh: '平台', synonyms: ['platform', '平台'] },
    content_id: {
      type: 'text',
      required: true,
      en: 'post commented on',
      zh: '所属作品',
      synonyms: ['content_id', 'post_id', 'video_id', 'note_id', '作品ID', '视频ID', '笔记ID', '内容ID'],
    },
    comment_id: {
      type: 'text',
      required: true,
      en: 'comment id',
      zh: '评论 ID',
      synonyms: ['comment_id', 'id', '评论ID'],
    },
    parent_id: {
      type: 'text',
      en: 'comment replied to',
      zh: '回复的评论',
      synonyms: ['parent_id', 'reply_to', '父评论ID', '回复评论ID'],
    },
    author_id: {
      type: 'text',
      en: 'author id',
      zh: '评论者 ID',
      synonyms: ['author_id', 'user_id', '用户ID', '评论者ID'],
    },
    author_name: {
      type: 'text',
      en: 'author name',
      zh: '评论者昵称',
      synonyms: ['author_name', 'author', 'nickname', '用户昵称', '评论者', '评论者昵称', '昵称'],
    },
    text: {
      type: 'text',
      en: 'text',
      zh: '评论内容',
      synonyms: ['text', 'content', 'comment', '评论内容', '内容', '评论'],
    },
    created_at: {
      type: 'datetime',
      required: true,
      en: 'time',
      zh: '评论时间',
      synonyms: ['created_at', 'time', '评论时间', '时间', '发布时间'],
    },
    like_count: {
      type: 'count',
      en: 'likes',
      zh: '点赞数',
      synonyms: ['like_count', 'likes', '点赞数', '点赞', '点赞量'],
    },
    language: { type: 'text', en: 'language', zh: '语言', synonyms: ['language', 'lang', '语言'] },
    sentiment: {
      type: 'text',
      en: 'sentiment (positive, negative, neutral)',
      zh: '情感',
      synonyms: ['sentiment', '情感', '情感倾向'],
    },
    sentiment_score: {
      type: 'number',
      en: 'sentiment score',
      zh: '情感分',
      synonyms: ['sentiment_score', '情感分'],
    },
  },
  naturalKey: ['platform', 'content_id', 'comment_id'],
  idColumn: 'comment_id',
  compare: {
    parent_id: 'text',
    author_id: 'text',
    author_name: 'text',
    text: 'text',
    created_at: 'ms',
    like_count: 'number',
    language: 'text',
    sentiment: 'text',
    sentiment_score: 'number',
  },
  build(values, context) {
    for (const field of ['platform', 'content_id', 'comment_id']) {
      if (!text(values, field)) throw missing(field, this.fields[field]!);
    }
    const createdAt = num(values, 'created_at');
    if (createdAt === undefined) throw missing('created_at', this.fields.created_at!);
    const row: Record<string, unknown> = {
      project_id: context.projectId,
      platform: text(values, 'platform').toLowerCase(),
      content_id: text(values, 'content_id'),
      comment_id: text(values, 'comment_id'),
      created_at: createdAt,
      updated_at: context.updatedAt,
    };
    for (const column of ['parent_id', 'author_id', 'author_name', 'text', 'language']) {
      setIf(row, column, text(values, column));
    }
    setIf(row, 'like_count', num(values, 'like_count'));
    const sentiment = text(values, 'sentiment');
    setIf(row, 'sentiment', SENTIMENTS[sentiment.toLowerCase()] ?? sentiment.toLowerCase());
    // Float32 in the store: round as it will so that a re-import compares equal.
    const score = num(values, 'sentiment_score');
    setIf(row, 'sentiment_score', score === undefined ? undefined : Math.fround(score));
    setIf(row, 'source_id', context.sourceId);
    return row;
  },
};
