"""管理部件: the city-component inventory, its history, map layers, import and export."""
