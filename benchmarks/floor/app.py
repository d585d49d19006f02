"""The map page's shape with none of its code: what one Streamlit run of that shape costs (benchmarks/floor.py).

The same sidebar widgets (labels, options, keys), about as many elements and layout blocks as the map page sent
before issue 11's work, and a custom component with ~80 KB of arguments that change with the status filter (as the
map's overlay groups do). No data, no caches, no computation.
"""

import streamlit as st
import streamlit.components.v1 as components

st.set_page_config(layout="wide")
component = components.declare_component("floor_component", path=__file__.rsplit("/", 1)[0])
status = st.session_state.get("status", [])
with st.sidebar:
    st.markdown("### 济阳区城市规划一张图")
    st.radio("语言 Language", ["zh", "en"], horizontal=True, key="lang")
    st.date_input("数据日期", value=None, key="as_of")
    st.date_input("对比日期", value=None, key="compare")
    st.caption("日期按年-月-日填写")
    st.radio("着色", ["status", "rating"], horizontal=True, key="colour")
    with st.expander("进度筛选", expanded=True):
        st.multiselect("图层", list("abcd"), default=list("abcd"), key="layers")
        statuses = ["planned", "in_progress", "completed"]
        st.multiselect("建设状态", statuses, default=statuses, key="status")
        st.slider("进度", 0, 100, (0, 100), key="progress")
        st.checkbox("含未上报进度", True, key="unreported")
        left, right = st.columns(2)
        left.date_input("计划完工 从", value=None, key="end_from")
        right.date_input("至", value=None, key="end_to")
        st.caption("计划完工日期")
        st.checkbox("含无完工日期", True, key="undated")
        st.multiselect("类型", ["road", "school"], default=["road", "school"], key="kinds")
        st.toggle("示意位置", True, key="approximate")
        st.toggle("待核实", True, key="placeholder")
    st.selectbox("底图", ["none", "osm"], key="basemap")
st.html("<style>" + "a{color:#123}" * 200 + "</style>")
st.html("<script>1</script>" * 50, unsafe_allow_javascript=True)
with st.container(key="head"):
    st.title("济阳区“一城三区”与重点项目")
    st.html("<div>数据日期:最新</div>")
cards = st.container(key="kpis").columns(6)
for index, card in enumerate(cards):
    card.metric(f"指标 {index}", str(len(status) + index), help="说明")
st.html("<div>notes</div>")
map_column, details_column = st.container(key="mapzone").columns([3, 1])
with map_column:
    component(script="x" * 60000, header="h" * 3000, feature_group="f" * 20000 + repr(status), key="map", default={})
with details_column:
    st.subheader("要素详情")
    st.info("点击地图上的要素查看详情。")
st.caption("一城三区 第 2 版 · 五大项目 第 3 版")
st.caption("说明:图上位置多为示意位置")
with st.expander("导出"):
    columns = st.columns(4)
    columns[0].download_button("HTML", data=b"x", key="html")
    columns[1].button("PNG", key="png")
    columns[2].radio("纸张", ["a4", "a3"], key="paper")
    columns[3].button("PDF", key="pdf")
