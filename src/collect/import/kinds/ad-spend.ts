import { decimal4, type KindSpec, missing, money, num, RowProblem, setIf, text } from './types.js';

/** Ad spend: one row per day × platform × campaign × ad group × creative. */
export const adSpend: KindSpec = {
  kind: 'ad_spend',
  table: 'ad_spend',
  en: 'ad spend (per day, campaign, ad group, creative)',
  zh: '广告投放（按天、计划、广告组、创意）',
  fields: {
    date: {
      type: 'date',
      required: true,
      en: 'day',
      zh: '日期',
      synonyms: ['date', 'day', 'stat_date', '日期', '时间', '统计日期', '数据日期'],
    },
    platform: {
      type: 'text',
      required: true,
      en: 'platform',
      zh: '平台',
      synonyms: ['platform', '平台', '媒体'],
    },
    channel: {
      type: 'text',
      en: 'ad network',
      zh: '投放渠道',
      synonyms: ['channel', '渠道', '投放渠道', '广告平台'],
    },
    account_id: {
      type: 'text',
      en: 'ad account',
      zh: '广告账户',
      synonyms: ['account_id', 'account', '账户ID', '账户', '广告主ID', '广告账户ID', '账户名称'],
    },
    campaign_id: {
      type: 'text',
      en: 'campaign id (falls back to its name)',
      zh: '计划 ID（缺失时用名称）',
      synonyms: ['campaign_id', '计划ID', '推广计划ID', '广告计划ID'],
    },
    campaign_name: {
      type: 'text',
      en: 'campaign name',
      zh: '计划名称',
      synonyms: [
        'campaign_name',
        'campaign',
        '计划名称',
        '推广计划',
        '推广计划名称',
        '广告计划名称',
        '广告计划',
      ],
    },
    ad_group_id: {
      type: 'text',
      en: 'ad group id (falls back to its name)',
      zh: '广告组 ID（缺失时用名称）',
      synonyms: ['ad_group_id', 'adgroup_id', '广告组ID', '单元ID', '推广单元ID'],
    },
    ad_group_name: {
      type: 'text',
      en: 'ad group name',
      zh: '广告组名称',
      synonyms: ['ad_group_name', 'ad_group', 'adgroup', '广告组名称', '广告组', '推广单元', '推广单元名称'],
    },
    creative_id: {
      type: 'text',
      en: 'creative id (falls back to its name)',
      zh: '创意 ID（缺失时用名称）',
      synonyms: ['creative_id', '创意ID', '素材ID'],
    },
    creative_name: {
      type: 'text',
      en: 'creative name',
      zh: '创意名称',
      synonyms: ['creative_name', 'creative', '创意名称', '创意', '素材名称'],
    },
    impressions: {
      type: 'count',
      en: 'impressions',
      zh: '展示数',
      synonyms: ['impressions', '展示数', '展示量', '展现', '展现量', '曝光量', '曝光数', '曝光次数'],
    },
    clicks: {
      type: 'count',
      en: 'clicks',
      zh: '点击数',
      synonyms: ['clicks', '点击', '点击数', '点击量', '点击次数'],
    },
    spend: {
      type: 'money',
      required: true,
      en: 'spend',
      zh: '消耗',
      synonyms: ['spend', 'cost', '消耗', '花费', '消费', '总花费', '消耗金额'],
    },
    currency: { type: 'text', en: 'currency', zh: '币种', synonyms: ['currency', '币种', '货币'] },
    conversions: {
      type: 'count',
      en: 'conversions the platform reports',
      zh: '转化数',
      synonyms: ['conversions', '转化数', '转化量', '转化次数', '目标转化量'],
    },
    conversion_revenue: {
      type: 'money',
      en: 'revenue the platform attributes',
      zh: '转化金额',
      synonyms: ['conversion_revenue', 'revenue', '转化金额', '成交金额', '付费金额', '下单金额'],
    },
  },
  naturalKey: ['date', 'platform', 'campaign_id', 'ad_group_id', 'creative_id'],
  idColumn: 'campaign_id',
  rangeColumn: { column: 'date', type: 'date' },
  compare: {
    account_id: 'text',
    campaign_name: 'text',
    ad_group_name: 'text',
    creative_name: 'text',
    channel: 'text',
    impressions: 'number',
    clicks: 'number',
    spend: 'number',
    currency: 'text',
    conversions: 'number',
    conversion_revenue: 'number',
  },
  engineBuild: {
    javascriptOnly: [],
    columns: ({ field, projectId, sourceId, currency, updatedAt }) => {
      const text = (name: string) => `ifNull(${field(name)}, '')`;
      const orName = (id: string, name: string) => `if(${text(id)} != '', ${text(id)}, ${text(name)})`;
      const number = (name: string) => `ifNull(${field(name)}, 0)`;
      return {
        project_id: projectId,
        date: `toDate(${field('date')})`,
        platform: `lower(${text('platform')})`,
        account_id: text('account_id'),
        campaign_id: orName('campaign_id', 'campaign_name'),
        campaign_name: text('campaign_name'),
        ad_group_id: orName('ad_group_id', 'ad_group_name'),
        ad_group_name: text('ad_group_name'),
        creative_id: orName('creative_id', 'creative_name'),
        creative_name: text('creative_name'),
        channel: `lower(${text('channel')})`,
        impressions: number('impressions'),
        clicks: number('clicks'),
        spend: number('spend'),
        // A plain amount names no currency: the column's, else the project's.
        currency: `upper(if(${text('currency')} != '', ${text('currency')}, ${currency}))`,
        conversions: number('conversions'),
        conversion_revenue: number('conversion_revenue'),
        source_id: sourceId,
        updated_at: updatedAt,
      };
    },
    // ASCII names only: lower()/upper() and toLowerCase()/toUpperCase() agree on them.
    accepts: ({ field }) =>
      [
        `${field('date')} IS NOT NULL`,
        `${field('spend')} IS NOT NULL`,
        `match(ifNull(${field('platform')}, ''), '^[A-Za-z0-9_.-]+$')`,
        `match(ifNull(${field('channel')}, ''), '^[A-Za-z0-9_.-]*$')`,
        `match(ifNull(${field('currency')}, ''), '^[A-Za-z]*$')`,
        `(ifNull(${field('campaign_id')}, '') != '' OR ifNull(${field('campaign_name')}, '') != '')`,
      ].join(' AND '),
  },
  build(values, context) {
    const date = text(values, 'date');
    if (!date) throw missing('date', this.fields.date!);
    const platform = text(values, 'platform').toLowerCase();
    if (!platform) throw missing('platform', this.fields.platform!);
    const campaignId = text(values, 'campaign_id') || text(values, 'campaign_name');
    if (!campaignId) {
      throw new RowProblem(
        'campaign_id',
        'the row names no campaign (id or name)',
        '该行没有计划 ID 或计划名称',
      );
    }
    const spend = money(values, 'spend');
    if (!spend) throw missing('spend', this.fields.spend!);
    const revenue = money(values, 'conversion_revenue');
    const row: Record<string, unknown> = {
      project_id: context.projectId,
      date,
      platform,
      campaign_id: campaignId,
      currency: (text(values, 'currency') || spend.currency || context.currency).toUpperCase(),
      updated_at: context.updatedAt,
    };
    setIf(row, 'account_id', text(values, 'account_id'));
    setIf(row, 'campaign_name', text(values, 'campaign_name'));
    setIf(row, 'ad_group_id', text(values, 'ad_group_id') || text(values, 'ad_group_name'));
    setIf(row, 'ad_group_name', text(values, 'ad_group_name'));
    setIf(row, 'creative_id', text(values, 'creative_id') || text(values, 'creative_name'));
    setIf(row, 'creative_name', text(values, 'creative_name'));
    setIf(row, 'channel', text(values, 'channel').toLowerCase());
    setIf(row, 'impressions', num(values, 'impressions'));
    setIf(row, 'clicks', num(values, 'clicks'));
    setIf(row, 'spend', decimal4(spend.amount));
    setIf(row, 'conversions', num(values, 'conversions'));
    setIf(row, 'conversion_revenue', revenue && decimal4(revenue.amount));
    setIf(row, 'source_id', context.sourceId);
    return row;
  },
};
