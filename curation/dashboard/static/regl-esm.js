// regl ships only as a classic script (window.createREGL); regl-scatterplot imports it as an ES module.
export default window.createREGL;
