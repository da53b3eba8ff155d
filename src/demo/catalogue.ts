/**
 * The fixed cast of the demo world: the brand, its platforms, products, channels, coupons and the
 * places and devices its customers use. Everything random is drawn elsewhere; this file is data.
 */

export const BRAND = {
  name: 'Camellia Tea',
  nameZh: '山茶集',
  domain: 'shop.camelliatea.cn',
  currency: 'CNY',
} as const;

export const PLATFORMS = [
  'web',
  'app',
  'douyin',
  'kuaishou',
  'xiaohongshu',
  'wechat_channels',
  'bilibili',
  'weibo',
] as const;
export type Platform = (typeof PLATFORMS)[number];
export type SocialPlatform = Exclude<Platform, 'web' | 'app'>;

export function isSocialPlatform(platform: Platform): platform is SocialPlatform {
  return platform !== 'web' && platform !== 'app';
}

export const SOCIAL_PLATFORMS: readonly SocialPlatform[] = [
  'douyin',
  'kuaishou',
  'xiaohongshu',
  'wechat_channels',
  'bilibili',
  'weibo',
];

export interface SocialPlatformInfo {
  /** Share of social-first persons whose main platform this is. */
  popularity: number;
  /** id_type of the platform's user id in `identities` (the identity graph's vocabulary). */
  idType: 'openid' | 'platform';
  /** Typical video length range in seconds. */
  videoSeconds: [number, number];
  /** Share of posts that are images/notes rather than videos. */
  imagePostShare: number;
  /** Brand accounts on the platform. */
  accounts: string[];
  /** Posts per account per week. */
  postsPerWeek: number;
}

export const SOCIAL_PLATFORM_INFO: Record<SocialPlatform, SocialPlatformInfo> = {
  douyin: {
    popularity: 0.34,
    idType: 'openid',
    videoSeconds: [8, 90],
    imagePostShare: 0.05,
    accounts: ['camellia_official', 'camellia_tea_lab'],
    postsPerWeek: 5,
  },
  kuaishou: {
    popularity: 0.14,
    idType: 'openid',
    videoSeconds: [10, 120],
    imagePostShare: 0.03,
    accounts: ['camellia_official'],
    postsPerWeek: 4,
  },
  xiaohongshu: {
    popularity: 0.2,
    idType: 'openid',
    videoSeconds: [15, 240],
    imagePostShare: 0.5,
    accounts: ['camellia_official', 'camellia_tea_notes'],
    postsPerWeek: 4,
  },
  wechat_channels: {
    popularity: 0.16,
    idType: 'openid',
    videoSeconds: [15, 180],
    imagePostShare: 0.1,
    accounts: ['camellia_official'],
    postsPerWeek: 3,
  },
  bilibili: {
    popularity: 0.08,
    idType: 'platform',
    videoSeconds: [60, 900],
    imagePostShare: 0.05,
    accounts: ['camellia_official'],
    postsPerWeek: 2,
  },
  weibo: {
    popularity: 0.08,
    idType: 'platform',
    videoSeconds: [10, 300],
    imagePostShare: 0.45,
    accounts: ['camellia_official'],
    postsPerWeek: 4,
  },
};

/** The shop each platform's orders land in. */
export const SHOP_BY_PLATFORM: Record<Platform, string> = {
  web: 'shop_web',
  app: 'shop_app',
  douyin: 'shop_douyin',
  kuaishou: 'shop_kuaishou',
  xiaohongshu: 'shop_xiaohongshu',
  wechat_channels: 'shop_wechat_mini',
  bilibili: 'shop_bilibili',
  weibo: 'shop_weibo',
};

/** The source (connector or SDK) that delivered each platform's events. */
export const SOURCE_BY_PLATFORM: Record<Platform, string> = {
  web: 'src_web_sdk',
  app: 'src_app_sdk',
  douyin: 'src_douyin',
  kuaishou: 'src_kuaishou',
  xiaohongshu: 'src_xiaohongshu',
  wechat_channels: 'src_wechat',
  bilibili: 'src_bilibili',
  weibo: 'src_weibo',
};

export interface Product {
  sku: string;
  name: string;
  nameZh: string;
  category: string;
  /** Price in CNY. */
  price: number;
  /** Relative popularity. */
  weight: number;
}

export const PRODUCTS: readonly Product[] = [
  {
    sku: 'CT-LJ-250',
    name: 'West Lake Longjing 250g',
    nameZh: '明前西湖龙井',
    category: 'green_tea',
    price: 168,
    weight: 10,
  },
  {
    sku: 'CT-BLC-100',
    name: 'Biluochun 100g',
    nameZh: '洞庭碧螺春',
    category: 'green_tea',
    price: 98,
    weight: 5,
  },
  {
    sku: 'CT-DHP-200',
    name: 'Da Hong Pao 200g',
    nameZh: '武夷大红袍',
    category: 'oolong',
    price: 198,
    weight: 7,
  },
  {
    sku: 'CT-TGY-250',
    name: 'Tieguanyin 250g',
    nameZh: '安溪铁观音',
    category: 'oolong',
    price: 128,
    weight: 6,
  },
  {
    sku: 'CT-BHY-100',
    name: 'Silver Needle White Tea 100g',
    nameZh: '白毫银针',
    category: 'white_tea',
    price: 238,
    weight: 4,
  },
  {
    sku: 'CT-PE-357',
    name: 'Ripe Pu-erh Cake 357g',
    nameZh: '熟普洱茶饼',
    category: 'dark_tea',
    price: 158,
    weight: 4,
  },
  {
    sku: 'CT-ML-100',
    name: 'Jasmine Pearls 100g',
    nameZh: '茉莉龙珠',
    category: 'scented_tea',
    price: 68,
    weight: 8,
  },
  {
    sku: 'CT-CP-20',
    name: 'Cold Brew Sachets ×20',
    nameZh: '冷泡茶袋 20包',
    category: 'cold_brew',
    price: 49,
    weight: 12,
  },
  {
    sku: 'CT-HG-15',
    name: 'Fruit Tea Sampler ×15',
    nameZh: '花果茶组合 15包',
    category: 'cold_brew',
    price: 39,
    weight: 9,
  },
  {
    sku: 'CT-GIFT-1',
    name: 'Four Seasons Gift Box',
    nameZh: '四季礼盒',
    category: 'gift',
    price: 398,
    weight: 3,
  },
  {
    sku: 'CT-TW-1',
    name: 'Travel Tea Set',
    nameZh: '便携旅行茶具',
    category: 'teaware',
    price: 299,
    weight: 2,
  },
  {
    sku: 'CT-TRY-5',
    name: 'Taster Pack ×5',
    nameZh: '尝鲜装 5款',
    category: 'sampler',
    price: 29.9,
    weight: 7,
  },
];

/** Marketing channels, in the planted order of their contribution to the first purchase. */
export const CHANNELS = [
  'kol',
  'paid_social',
  'organic_social',
  'email',
  'paid_search',
  'share',
  'referral',
  'sms',
  'direct',
] as const;
export type Channel = (typeof CHANNELS)[number];

export interface Coupon {
  code: string;
  /** CNY off the order. */
  discount: number;
  /** Minimum order value in CNY. */
  minimum: number;
}

export const COUPONS: readonly Coupon[] = [
  { code: 'NEW20', discount: 20, minimum: 99 },
  { code: 'SPRING15', discount: 15, minimum: 79 },
  { code: 'MIDYEAR50', discount: 50, minimum: 299 },
  { code: 'BANNER10', discount: 10, minimum: 59 },
  { code: 'VIP30', discount: 30, minimum: 199 },
];

/** The coupon shown by the A/B-tested banner; claiming it is the experiment's conversion. */
export const BANNER_COUPON_INDEX = 3;

export interface City {
  city: string;
  region: string;
  country: string;
  weight: number;
}

export const CITIES: readonly City[] = [
  { city: 'Shanghai', region: 'Shanghai', country: 'CN', weight: 12 },
  { city: 'Beijing', region: 'Beijing', country: 'CN', weight: 10 },
  { city: 'Hangzhou', region: 'Zhejiang', country: 'CN', weight: 8 },
  { city: 'Shenzhen', region: 'Guangdong', country: 'CN', weight: 8 },
  { city: 'Guangzhou', region: 'Guangdong', country: 'CN', weight: 7 },
  { city: 'Chengdu', region: 'Sichuan', country: 'CN', weight: 6 },
  { city: 'Nanjing', region: 'Jiangsu', country: 'CN', weight: 5 },
  { city: 'Suzhou', region: 'Jiangsu', country: 'CN', weight: 4 },
  { city: 'Wuhan', region: 'Hubei', country: 'CN', weight: 4 },
  { city: "Xi'an", region: 'Shaanxi', country: 'CN', weight: 3 },
  { city: 'Chongqing', region: 'Chongqing', country: 'CN', weight: 4 },
  { city: 'Changsha', region: 'Hunan', country: 'CN', weight: 3 },
  { city: 'Xiamen', region: 'Fujian', country: 'CN', weight: 3 },
  { city: 'Fuzhou', region: 'Fujian', country: 'CN', weight: 2 },
  { city: 'Tianjin', region: 'Tianjin', country: 'CN', weight: 3 },
  { city: 'Hong Kong', region: 'Hong Kong', country: 'HK', weight: 1 },
  { city: 'Singapore', region: 'Singapore', country: 'SG', weight: 1 },
  { city: 'Kuala Lumpur', region: 'Kuala Lumpur', country: 'MY', weight: 0.6 },
  { city: 'San Francisco', region: 'California', country: 'US', weight: 0.4 },
];

export interface Device {
  deviceType: string;
  os: string;
  browser: string;
  weight: number;
}

export const DEVICES: readonly Device[] = [
  { deviceType: 'mobile', os: 'iOS', browser: 'WeChat', weight: 18 },
  { deviceType: 'mobile', os: 'iOS', browser: 'Safari', weight: 12 },
  { deviceType: 'mobile', os: 'Android', browser: 'WeChat', weight: 16 },
  { deviceType: 'mobile', os: 'HarmonyOS', browser: 'Huawei Browser', weight: 10 },
  { deviceType: 'mobile', os: 'Android', browser: 'Chrome', weight: 6 },
  { deviceType: 'desktop', os: 'Windows', browser: 'Chrome', weight: 9 },
  { deviceType: 'desktop', os: 'Windows', browser: 'Edge', weight: 4 },
  { deviceType: 'desktop', os: 'macOS', browser: 'Safari', weight: 5 },
  { deviceType: 'tablet', os: 'iPadOS', browser: 'Safari', weight: 3 },
];

export const WEB_PAGES: readonly { path: string; title: string }[] = [
  { path: '/', title: '山茶集 Camellia Tea' },
  { path: '/collections/green-tea', title: '绿茶 Green tea' },
  { path: '/collections/oolong', title: '乌龙茶 Oolong' },
  { path: '/collections/cold-brew', title: '冷泡茶 Cold brew' },
  { path: '/collections/gifts', title: '礼盒 Gifts' },
  { path: '/blog/how-to-brew-longjing', title: '龙井怎么泡 How to brew Longjing' },
  { path: '/blog/cold-brew-guide', title: '冷泡茶指南 Cold brew guide' },
  { path: '/account', title: '我的账户 My account' },
  { path: '/cart', title: '购物车 Cart' },
  { path: '/checkout', title: '结算 Checkout' },
  { path: '/search', title: '搜索 Search' },
  { path: '/membership', title: '会员中心 Membership' },
];

/** Indices into WEB_PAGES (and APP_SCREENS, which follows the same order) by meaning. */
export const PAGE = {
  home: 0,
  collections: [1, 2, 3, 4],
  articles: [5, 6],
  account: 7,
  cart: 8,
  checkout: 9,
  search: 10,
  membership: 11,
} as const;

export const APP_SCREENS: readonly string[] = [
  'Home',
  'Category',
  'Category',
  'Category',
  'Category',
  'Tea Academy',
  'Tea Academy',
  'Me',
  'Cart',
  'Checkout',
  'Search',
  'Member Center',
];

export const SEARCH_QUERIES: readonly string[] = [
  '龙井',
  '冷泡茶',
  '礼盒',
  '大红袍',
  '白茶',
  'jasmine',
  '茶具',
  '普洱',
  '铁观音',
  'cold brew',
  '花果茶',
  '新人优惠',
];

/** App release names by the share of the 90 days after which they ship. */
export const APP_VERSIONS: readonly { version: string; fromFraction: number }[] = [
  { version: '3.4.2', fromFraction: 0 },
  { version: '3.5.0', fromFraction: 0.3 },
  { version: '3.6.1', fromFraction: 0.7 },
];
