"""Work orders (作业工单): routine operations planned ahead, done on site with photos, checked by sampling."""
