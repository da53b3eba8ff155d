import { Empty } from 'antd';

export default function Content() {
  return <Empty />;
}
