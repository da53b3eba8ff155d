import { type KindSpec, missing, num, RowProblem, setIf, text } from './types.js';

/** Content stats: one row per post (video, note, article) per day per platform. */
export const contentStats: KindSpec = {
  kind: 'content_stats',
  table: 'content_stats',
  en: 'content stats (per post per day)',
  zh: '内容数据（每条作品每天）',
  fields: {
    platform: { type: 'text', required: true, en: 'platform', zh: '平台', synonyms: ['platform', '平台'] },
    account_id: {
      type: 'text',
      en: 'account id or name',
      zh: '账号',
      synonyms: ['account_id', 'account', '账号', '账号ID', '账号名称', '账号昵称', '作者', '博主'],
    },
    content_id: {
      type: 'text',
      required: true,
      en: 'post id (falls back to the title)',
      zh: '作品 ID（缺失时用标题）',
      synonyms: [
        'content_id',
        'post_id',
        'video_id',
        'note_id',
        'item_id',
        '作品ID',
        '视频ID',
        '笔记ID',
        '内容ID',
      ],
    },
    date: {
      type: 'date',
      required: true,
      en: 'day of the numbers (falls back to a date in the title line)',
      zh: '数据日期（缺失时用标题行中的日期）',
      synonyms: ['date', 'day', 'stat_date', '日期', '统计日期', '数据日期', '时间'],
    },
    title: {
      type: 'text',
      en: 'title',
      zh: '标题',
      synonyms: ['title', '标题', '作品标题', '作品名称', '视频标题', '笔记标题', '内容标题', '作品描述'],
    },
    content_type: {
      type: 'text',
      en: 'content type',
      zh: '内容类型',
      synonyms: ['content_type', 'type', '类型', '作品类型', '内容类型', '体裁'],
    },
    published_at: {
      type: 'datetime',
      en: 'publication time',
      zh: '发布时间',
      synonyms: ['published_at', 'publish_time', '发布时间', '发布日期', '发表时间'],
    },
    duration_seconds: {
      type: 'duration',
      en: 'length of the video',
      zh: '视频时长',
      synonyms: ['duration_seconds', 'duration', '时长', '视频时长', '作品时长'],
    },
    tags: { type: 'list', en: 'tags', zh: '标签', synonyms: ['tags', '标签', '话题'] },
    impressions: {
      type: 'count',
      en: 'impressions',
      zh: '曝光量',
      synonyms: ['impressions', '曝光', '曝光量', '曝光数', '曝光次数', '展现量', '展示量'],
    },
    plays: {
      type: 'count',
      en: 'plays / views / reads',
      zh: '播放量',
      synonyms: [
        'plays',
        'views',
        'play_count',
        'view_count',
        '播放',
        '播放量',
        '播放数',
        '播放次数',
        '观看量',
        '观看次数',
        '浏览量',
        '阅读量',
        '阅读数',
      ],
    },
    unique_viewers: {
      type: 'count',
      en: 'unique viewers',
      zh: '观看人数',
      synonyms: ['unique_viewers', 'viewers', '播放人数', '观看人数', '观众数', '浏览人数', '阅读人数'],
    },
    likes: {
      type: 'count',
      en: 'likes',
      zh: '点赞数',
      synonyms: ['likes', 'like_count', '点赞', '点赞数', '点赞量', '点赞次数', '获赞数'],
    },
    comments: {
      type: 'count',
      en: 'comments',
      zh: '评论数',
      synonyms: ['comments', 'comment_count', '评论', '评论数', '评论量', '评论次数'],
    },
    shares: {
      type: 'count',
      en: 'shares',
      zh: '分享数',
      synonyms: ['shares', 'share_count', '分享', '分享数', '分享量', '分享次数', '转发', '转发数', '转发量'],
    },
    favourites: {
      type: 'count',
      en: 'favourites (saves)',
      zh: '收藏数',
      synonyms: ['favourites', 'favorites', 'saves', 'collects', '收藏', '收藏数', '收藏量', '收藏次数'],
    },
    completion_rate: {
      type: 'rate',
      en: 'completion rate (0..1)',
      zh: '完播率',
      synonyms: ['completion_rate', '完播率', '播放完成率', '完整播放率'],
    },
    avg_watch_seconds: {
      type: 'duration',
      en: 'average watch time',
      zh: '平均播放时长',
      synonyms: [
        'avg_watch_seconds',
        'avg_watch_time',
        '平均播放时长',
        '平均观看时长',
        '人均观看时长',
        '平均阅读时长',
      ],
    },
    followers_gained: {
      type: 'integer',
      en: 'followers gained (net)',
      zh: '涨粉数',
      synonyms: [
        'followers_gained',
        'new_followers',
        '涨粉',
        '涨粉数',
        '涨粉量',
        '新增粉丝',
        '新增粉丝数',
        '净增粉丝',
      ],
    },
    profile_visits: {
      type: 'count',
      en: 'profile visits',
      zh: '主页访问量',
      synonyms: ['profile_visits', '主页访问', '主页访问数', '主页访问量', '主页访问次数', '主页浏览量'],
    },
  },
  naturalKey: ['platform', 'account_id', 'content_id', 'date'],
  idColumn: 'content_id',
  rangeColumn: { column: 'date', type: 'date' },
  compare: {
    title: 'text',
    content_type: 'text',
    published_at: 'ms',
    duration_seconds: 'number',
    tags: 'list',
    impressions: 'number',
    plays: 'number',
    unique_viewers: 'number',
    likes: 'number',
    comments: 'number',
    shares: 'number',
    favourites: 'number',
    completion_rate: 'number',
    avg_watch_seconds: 'number',
    followers_gained: 'number',
    profile_visits: 'number',
  },
  build(values, context) {
    const platform = text(values, 'platform').toLowerCase();
    if (!platform) throw missing('platform', this.fields.platform!);
    const contentId = text(values, 'content_id') || text(values, 'title');
    if (!contentId) {
      throw new RowProblem(
        'content_id',
        'the row has neither a post id nor a title to identify the post',
        '该行既没有作品 ID 也没有标题，无法识别作品',
      );
    }
    const date = text(values, 'date');
    if (!date) throw missing('date', this.fields.date!);
    const row: Record<string, unknown> = {
      project_id: context.projectId,
      platform,
      content_id: contentId,
      date,
      updated_at: context.updatedAt,
    };
    setIf(row, 'account_id', text(values, 'account_id'));
    setIf(row, 'title', text(values, 'title'));
    setIf(row, 'content_type', text(values, 'content_type'));
    setIf(row, 'published_at', num(values, 'published_at'));
    setIf(row, 'tags', values.tags);
    for (const column of [
      'duration_seconds',
      'impressions',
      'plays',
      'unique_viewers',
      'likes',
      'comments',
      'shares',
      'favourites',
      'completion_rate',
      'avg_watch_seconds',
      'followers_gained',
      'profile_visits',
    ]) {
      setIf(row, column, num(values, column));
    }
    setIf(row, 'source_id', context.sourceId);
    return row;
  },
};
